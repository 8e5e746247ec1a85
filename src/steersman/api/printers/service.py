"""Service and Endpoints rows (``printService``, ``printEndpoints``).

The API server prints with ``Wide`` set, so load-balancer addresses are never clipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steersman.api.printers.cells import (
    NONE,
    age,
    format_labels,
    items,
    mapping,
    name_of,
    number,
    text,
    with_more,
)
from steersman.api.printers.columns import AGE, NAME, WIDE, Printer, api, col

_SERVICE_COLUMNS = (
    NAME,
    col("Type", api("core.v1.ServiceSpec", "type")),
    col("Cluster-IP", api("core.v1.ServiceSpec", "clusterIP")),
    col("External-IP", api("core.v1.ServiceSpec", "externalIPs")),
    col("Port(s)", api("core.v1.ServiceSpec", "ports")),
    AGE,
    col("Selector", api("core.v1.ServiceSpec", "selector"), priority=WIDE),
)
_ENDPOINTS_COLUMNS = (NAME, col("Endpoints", api("core.v1.Endpoints", "subsets")), AGE)


def service_cells(service: Mapping[str, Any], now: float) -> list[Any]:
    spec = mapping(service, "spec")
    return [
        name_of(service), text(spec, "type") or "ClusterIP", _cluster_ip(spec),
        _external_ip(service), _ports(spec) or NONE, age(service, now),
        format_labels(spec.get("selector")),
    ]


def _cluster_ip(spec: Mapping[str, Any]) -> str:
    # kube-apiserver converts v1 to its internal form, where clusterIP leads clusterIPs.
    cluster_ips = items(spec, "clusterIPs")
    return text(spec, "clusterIP") or (str(cluster_ips[0]) if cluster_ips else NONE)


def _external_ip(service: Mapping[str, Any]) -> str:
    spec = mapping(service, "spec")
    kind = text(spec, "type") or "ClusterIP"
    external_ips = [str(ip) for ip in items(spec, "externalIPs")]
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external_ips) or NONE
    if kind == "LoadBalancer":
        addresses = load_balancer_addresses(mapping(service, "status", "loadBalancer"))
        return ",".join(addresses + external_ips) or "<pending>"
    if kind == "ExternalName":
        return text(spec, "externalName")
    return "<unknown>"


def load_balancer_addresses(status: Mapping[str, Any]) -> list[str]:
    """Each ingress point's IP, else its hostname; sorted and deduplicated."""
    found = {text(i, "ip") or text(i, "hostname") for i in items(status, "ingress")}
    return sorted(found - {""})


def _ports(spec: Mapping[str, Any]) -> str:
    pieces = []
    for port in items(spec, "ports"):
        number_, protocol = number(port, "port"), text(port, "protocol") or "TCP"
        node_port = number(port, "nodePort")
        if node_port > 0:
            pieces.append(f"{number_}:{node_port}/{protocol}")
        else:
            pieces.append(f"{number_}/{protocol}")
    return ",".join(pieces)


def endpoints_cells(endpoints: Mapping[str, Any], now: float) -> list[Any]:
    return [name_of(endpoints), _format_endpoints(endpoints), age(endpoints, now)]


def _format_endpoints(endpoints: Mapping[str, Any]) -> str:
    """``formatEndpoints``: up to three ``ip:port``, then `` + N more...``."""
    subsets = items(endpoints, "subsets")
    if not subsets:
        return NONE
    shown: list[str] = []
    for subset in subsets:
        ips = [text(a, "ip") for a in items(subset, "addresses")]
        ports = items(subset, "ports")
        if not ports:
            shown.extend(ips)
        for port in ports:
            shown.extend(_host_port(ip, number(port, "port")) for ip in ips)
    return with_more(shown, len(shown))


def _host_port(host: str, port: int) -> str:
    if ":" in host:
        return f"[{host}]:{port}"
    return f"{host}:{port}"


PRINTERS = {
    "Service": Printer(_SERVICE_COLUMNS, service_cells),
    "Endpoints": Printer(_ENDPOINTS_COLUMNS, endpoints_cells),
}
