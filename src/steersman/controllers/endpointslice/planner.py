"""Turning desired endpoints and the existing slices into writes, with little churn.

A smaller ``reconcileByAddressType`` (``staging/src/k8s.io/endpointslice/reconciler.go``):

1. each existing slice keeps the endpoints that are still wanted, in their newest form,
   and drops the rest (an endpoint found in two slices stays in the first); a slice whose
   ports no longer match any group, or that ends up empty, is to be deleted;
2. endpoints not yet placed fill the free room of the group's slices (up to ``max_endpoints``
   each), then slices that were to be deleted are reused for them, then new ones are made;
3. a Service without endpoints keeps exactly one empty placeholder slice (reusing an
   existing slice when there is one).

Unchanged slices are not written. The result is a :class:`SlicePlan` of whole objects; the
controller performs it (creates, then updates, then deletes, so endpoints never vanish
between two writes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from steersman.controllers import service_backends as backends
from steersman.controllers.endpointslice.desired import Ports, endpoint_key, slice_ports

Object = dict[str, Any]
MAX_ENDPOINTS_PER_SLICE = 100
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
CONTROLLER_NAME = "endpointslice-controller.k8s.io"


@dataclass
class SlicePlan:
    create: list[Object] = field(default_factory=list)
    update: list[Object] = field(default_factory=list)
    delete: list[Object] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.create or self.update or self.delete)


@dataclass
class _Slice:
    """A slice being worked on: its object, its endpoints by key, whether it changed."""

    obj: Object
    ports: Ports
    endpoints: dict[tuple[str, str, str], Object]
    changed: bool = False


def plan_slices(service: Object, desired: Mapping[Ports, Sequence[Object]],
                existing: Sequence[Object], *,
                max_endpoints: int = MAX_ENDPOINTS_PER_SLICE) -> SlicePlan:
    """The writes that make ``existing`` hold exactly ``desired`` for ``service``."""
    wanted = {ports: {endpoint_key(e): e for e in endpoints}
              for ports, endpoints in desired.items() if endpoints}
    kept, doomed = _trim_existing(service, wanted, existing)
    created: list[_Slice] = []
    for ports, endpoints in wanted.items():
        _place(service, ports, list(endpoints.values()), kept, doomed, created, max_endpoints)
    if not wanted:
        _keep_placeholder(service, kept, doomed, created)
    for target in (*kept, *created):
        _finish(service, target)
    return SlicePlan(create=[s.obj for s in created],
                     update=[s.obj for s in kept if s.changed],
                     delete=[s.obj for s in doomed])


def _trim_existing(service: Object, wanted: Mapping[Ports, Mapping[Any, Object]],
                   existing: Sequence[Object]) -> tuple[list[_Slice], list[_Slice]]:
    """Existing slices with stale endpoints removed; those left empty are doomed."""
    kept: list[_Slice] = []
    doomed: list[_Slice] = []
    placed: set[tuple[Ports, tuple[str, str, str]]] = set()
    for obj in sorted(existing, key=lambda s: str(s["metadata"].get("name", ""))):
        current = _Slice(obj, slice_ports(obj), {endpoint_key(e): e
                                                 for e in obj.get("endpoints") or []})
        group = wanted.get(current.ports, {})
        endpoints = {key: group[key] for key in current.endpoints
                     if key in group and (current.ports, key) not in placed}
        placed.update((current.ports, key) for key in endpoints)
        if not endpoints:
            doomed.append(current)
            continue
        current.changed = (_sorted(endpoints) != _sorted(current.endpoints)
                           or _metadata_differs(service, obj))
        current.endpoints = endpoints
        kept.append(current)
    return kept, doomed


def _place(service: Object, ports: Ports, endpoints: list[Object], kept: list[_Slice],
           doomed: list[_Slice], created: list[_Slice], max_endpoints: int) -> None:
    """Put the endpoints no slice of the port group holds yet into slices with room."""
    group = [s for s in kept if s.ports == ports]
    held = {key for s in group for key in s.endpoints}
    pending = [e for e in endpoints if endpoint_key(e) not in held]
    for target in sorted(group, key=lambda s: not s.changed):
        pending = _fill(target, pending, max_endpoints)
    while pending:
        if doomed:
            target = _reuse(doomed, ports)
            kept.append(target)
        else:
            target = _Slice(new_slice_object(service), ports, {}, changed=True)
            created.append(target)
        pending = _fill(target, pending, max_endpoints)


def _fill(target: _Slice, pending: list[Object], max_endpoints: int) -> list[Object]:
    room = max_endpoints - len(target.endpoints)
    if room <= 0 or not pending:
        return pending
    for endpoint in pending[:room]:
        target.endpoints[endpoint_key(endpoint)] = endpoint
    target.changed = True
    return pending[room:]


def _reuse(doomed: list[_Slice], ports: Ports) -> _Slice:
    """A slice that was to be deleted, given the new ports: an update instead of two writes."""
    target = doomed.pop(0)
    target.ports, target.endpoints, target.changed = ports, {}, True
    return target


def _keep_placeholder(service: Object, kept: list[_Slice], doomed: list[_Slice],
                      created: list[_Slice]) -> None:
    """No endpoints at all: one empty slice with no ports stays (an old one reused, or new)."""
    for index, candidate in enumerate(doomed):
        if not candidate.ports and not candidate.endpoints:
            doomed.pop(index)
            candidate.changed = _metadata_differs(service, candidate.obj)
            kept.append(candidate)
            return
    if doomed:
        kept.append(_reuse(doomed, ()))
    else:
        created.append(_Slice(new_slice_object(service), (), {}, changed=True))


def _finish(service: Object, target: _Slice) -> None:
    """Write the working state back into the slice object (a copy, never the cached one)."""
    if not target.changed:
        return
    obj = {**target.obj, "metadata": {**target.obj["metadata"], **slice_metadata(service)}}
    obj["addressType"] = "IPv4"
    obj["endpoints"] = _sorted(target.endpoints)
    obj["ports"] = [port.to_dict() for port in target.ports]
    target.obj = obj


def _sorted(endpoints: Mapping[tuple[str, str, str], Object]) -> list[Object]:
    return [endpoints[key] for key in sorted(endpoints)]


def slice_metadata(service: Object) -> Object:
    """The labels and owner every slice of ``service`` carries."""
    labels = {**backends.endpoint_labels(service),
              SERVICE_NAME_LABEL: service["metadata"]["name"],
              MANAGED_BY_LABEL: CONTROLLER_NAME}
    return {"labels": labels, "ownerReferences": [backends.service_owner(service)]}


def _metadata_differs(service: Object, obj: Object) -> bool:
    meta = obj.get("metadata") or {}
    wanted = slice_metadata(service)
    return bool((meta.get("labels") or {}) != wanted["labels"]
                or (meta.get("ownerReferences") or []) != wanted["ownerReferences"])


def new_slice_object(service: Object) -> Object:
    meta = service["metadata"]
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"generateName": f"{meta['name']}-", "namespace": meta["namespace"],
                         **slice_metadata(service)},
            "addressType": "IPv4", "endpoints": [], "ports": []}
