"""What a Service's EndpointSlices should hold: endpoints grouped by their resolved ports.

``podToEndpoint`` of upstream's reconciler: one endpoint per backing pod, with its IPv4
address, ``conditions`` (``serving`` = the pod is Ready; ``terminating`` = it is being
deleted; ``ready`` = serving and not terminating, or always with
``publishNotReadyAddresses``), ``targetRef``, ``nodeName``, ``zone`` (the node's
``topology.kubernetes.io/zone``) and ``hostname`` for a pod whose subdomain is the Service.
Pods whose named ports resolve differently land in different port groups, as upstream.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from steersman.controllers import service_backends as backends
from steersman.controllers.podstate import is_ready, is_terminating

Object = dict[str, Any]
Ports = tuple[backends.EndpointPort, ...]
ZONE_LABEL = "topology.kubernetes.io/zone"


def desired_endpoints(service: Object, pods: Iterable[Object],
                      nodes: Mapping[str, Object]) -> dict[Ports, list[Object]]:
    """Endpoints by port group; a Service with ports skips pods that serve none of them."""
    groups: dict[Ports, list[Object]] = {}
    wants_ports = bool((service.get("spec") or {}).get("ports"))
    for pod in backends.backing_pods(service, pods, include_terminating=True):
        ports = backends.resolve_ports(service, pod)
        if wants_ports and not ports:
            continue
        groups.setdefault(ports, []).append(pod_endpoint(service, pod, nodes))
    return groups


def pod_endpoint(service: Object, pod: Object, nodes: Mapping[str, Object]) -> Object:
    serving = is_ready(pod)
    terminating = is_terminating(pod)
    ready = backends.publishes_not_ready(service) or (serving and not terminating)
    endpoint: Object = {
        "addresses": [backends.ipv4_address(pod)],
        "conditions": {"ready": ready, "serving": serving, "terminating": terminating},
        "targetRef": backends.target_ref(pod),
    }
    hostname = backends.hostname_for(service, pod)
    if hostname:
        endpoint["hostname"] = hostname
    node_name = str((pod.get("spec") or {}).get("nodeName") or "")
    if node_name:
        endpoint["nodeName"] = node_name
        zone = ((nodes.get(node_name) or {}).get("metadata") or {}).get("labels", {}).get(
            ZONE_LABEL)
        if zone:
            endpoint["zone"] = zone
    return endpoint


def endpoint_key(endpoint: Mapping[str, Any]) -> tuple[str, str, str]:
    """What identifies an endpoint across updates: its address and the pod it points at."""
    ref = endpoint.get("targetRef") or {}
    addresses = endpoint.get("addresses") or [""]
    return str(addresses[0]), str(ref.get("namespace", "")), str(ref.get("name", ""))


def slice_ports(endpoint_slice: Mapping[str, Any]) -> Ports:
    return tuple(backends.EndpointPort.from_dict(port)
                 for port in endpoint_slice.get("ports") or [])
