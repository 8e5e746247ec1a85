"""What a Service's legacy Endpoints object should hold: subsets of addresses and ports.

Upstream's ``syncService`` + ``RepackSubsets``: each backing pod becomes an address (IP,
``nodeName``, ``targetRef``, ``hostname`` when its subdomain is the Service), ready or not
ready (``publishNotReadyAddresses`` makes every pod ready); pods serving the same resolved
ports share a subset. Terminating pods are left out unless ``publishNotReadyAddresses``. A
headless Service without ports still lists its pods' addresses; any other portless
Service gets no subsets. The output is sorted, so equal inputs give equal objects.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from steersman.controllers import service_backends as backends
from steersman.controllers.podstate import is_ready

Object = dict[str, Any]


def desired_subsets(service: Object, pods: Iterable[Object]) -> list[Object]:
    publish = backends.publishes_not_ready(service)
    has_ports = bool((service.get("spec") or {}).get("ports"))
    if not has_ports and not backends.is_headless(service):
        return []
    groups: dict[tuple[backends.EndpointPort, ...], tuple[list[Object], list[Object]]] = {}
    for pod in backends.backing_pods(service, pods, include_terminating=publish):
        ports = tuple(sorted(backends.resolve_ports(service, pod)))
        if has_ports and not ports:
            continue
        ready, not_ready = groups.setdefault(ports, ([], []))
        (ready if publish or is_ready(pod) else not_ready).append(_address(service, pod))
    return [_subset(ports, ready, not_ready) for ports, (ready, not_ready) in sorted(
        groups.items())]


def _address(service: Object, pod: Object) -> Object:
    address: Object = {"ip": backends.ipv4_address(pod)}
    hostname = backends.hostname_for(service, pod)
    if hostname:
        address["hostname"] = hostname
    node_name = (pod.get("spec") or {}).get("nodeName")
    if node_name:
        address["nodeName"] = node_name
    address["targetRef"] = backends.target_ref(pod)
    return address


def _subset(ports: tuple[backends.EndpointPort, ...], ready: list[Object],
            not_ready: list[Object]) -> Object:
    subset: Object = {}
    if ready:
        subset["addresses"] = sorted(ready, key=_address_order)
    if not_ready:
        subset["notReadyAddresses"] = sorted(not_ready, key=_address_order)
    if ports:
        subset["ports"] = [port.to_dict(omit_empty_name=True) for port in ports]
    return subset


def _address_order(address: Object) -> tuple[str, str]:
    return str(address["ip"]), str(address["targetRef"]["name"])


def desired_endpoints(service: Object, pods: Iterable[Object]) -> Object:
    """The whole Endpoints object (without resourceVersion) for ``service``."""
    meta = service["metadata"]
    return {"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                         "labels": backends.endpoint_labels(service)},
            "subsets": desired_subsets(service, pods)}


def needs_update(current: Object, wanted: Object) -> bool:
    labels = (current.get("metadata") or {}).get("labels") or {}
    return bool((current.get("subsets") or []) != wanted["subsets"]
                or labels != wanted["metadata"]["labels"])
