"""Backends resolved to ready endpoints: a :class:`ServiceRef` → an :class:`Upstream`.

An Ingress names a Service port by number or by name; the Service says which of its ports
that is, and the EndpointSlices of the Service (label ``kubernetes.io/service-name``) list,
per port name, the pod port and the endpoints. An endpoint serves when its
``conditions.ready`` is not false (unset means ready, as the EndpointSlice API says). The
:class:`Upstream` hands its endpoints out round-robin. Pure values, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from steersman.ingress.routes import ServiceRef

Object = dict[str, Any]
Endpoint = tuple[str, int]
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


class Upstream:
    """The ready endpoints of one backend, handed out round-robin."""

    __slots__ = ("_next", "endpoints")

    def __init__(self, endpoints: Iterable[Endpoint]) -> None:
        self.endpoints: tuple[Endpoint, ...] = tuple(sorted(set(endpoints)))
        self._next = 0

    def rotation(self) -> Iterator[Endpoint]:
        """Every endpoint once, starting at the next one in turn."""
        count = len(self.endpoints)
        if not count:
            return
        start = self._next % count
        self._next = start + 1
        for offset in range(count):
            yield self.endpoints[(start + offset) % count]


def resolve_upstreams(refs: Iterable[ServiceRef], services: Mapping[str, Object],
                      slices: Iterable[Object]) -> dict[ServiceRef, Upstream]:
    """An :class:`Upstream` per ref; ``services`` by ``namespace/name``."""
    by_service: dict[str, list[Object]] = {}
    for endpoint_slice in slices:
        metadata = endpoint_slice.get("metadata") or {}
        owner = (metadata.get("labels") or {}).get(SERVICE_NAME_LABEL)
        if owner:
            by_service.setdefault(f"{metadata.get('namespace')}/{owner}", []).append(
                endpoint_slice)
    upstreams = {}
    for ref in refs:
        key = f"{ref.namespace}/{ref.name}"
        port_name = service_port_name(services.get(key), ref.port)
        endpoints = [] if port_name is None else ready_endpoints(by_service.get(key, []),
                                                                 port_name)
        upstreams[ref] = Upstream(endpoints)
    return upstreams


def service_port_name(service: Object | None, port: int | str) -> str | None:
    """The name (``""`` if unnamed) of the Service port ``port`` means; ``None`` if none."""
    if service is None:
        return None
    for entry in (service.get("spec") or {}).get("ports") or []:
        name = str(entry.get("name") or "")
        if (isinstance(port, str) and name == port) or (
                isinstance(port, int) and entry.get("port") == port):
            return name
    return None


def ready_endpoints(slices: Iterable[Object], port_name: str) -> list[Endpoint]:
    found: list[Endpoint] = []
    for endpoint_slice in slices:
        if endpoint_slice.get("addressType", "IPv4") != "IPv4":
            continue
        port = _slice_port(endpoint_slice, port_name)
        if port is None:
            continue
        for endpoint in endpoint_slice.get("endpoints") or []:
            if (endpoint.get("conditions") or {}).get("ready") is False:
                continue
            found.extend((str(address), port) for address in endpoint.get("addresses") or [])
    return found


def _slice_port(endpoint_slice: Object, port_name: str) -> int | None:
    for entry in endpoint_slice.get("ports") or []:
        if str(entry.get("name") or "") == port_name and entry.get("port"):
            return int(entry["port"])
    return None
