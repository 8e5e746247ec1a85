"""What one node's proxy should forward: Services + EndpointSlices → a :class:`ProxyTable`.

Pure: no I/O. :func:`build_table` turns the cached Services and EndpointSlices into
frontends (protocol, IP, port: what to listen on or match) each with the :class:`Route` it
forwards to, following kube-proxy's rules (``pkg/proxy/servicechangetracker.go``,
``pkg/proxy/topology.go``):

* headless (``clusterIP: None``) and ``ExternalName`` Services get no frontends, nor do
  Services labelled ``service.kubernetes.io/service-proxy-name`` (another proxy owns them,
  e.g. cluster DNS binding its own ClusterIP);
* every port gets ``clusterIP:port``; NodePort and LoadBalancer Services also get
  ``nodeIP:nodePort`` (and ``127.0.0.1:nodePort`` unless ``externalTrafficPolicy`` is
  Local: which node answers on the shared loopback address would be arbitrary), and each
  ``status.loadBalancer.ingress[].ip`` gets ``ip:port``;
* endpoints come from the slices labelled ``kubernetes.io/service-name``, matched by port
  name and protocol; ready ones are used, and only when none is ready the ones that are
  serving *and* terminating (upstream's graceful-termination fallback);
* ``internalTrafficPolicy: Local`` limits the ClusterIP route, and
  ``externalTrafficPolicy: Local`` the NodePort and load-balancer routes, to endpoints on
  this node; ``loadBalancerSourceRanges`` limit who may use the load-balancer IPs.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Object = dict[str, Any]
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
PROXY_NAME_LABEL = "service.kubernetes.io/service-proxy-name"
LOOPBACK = "127.0.0.1"
DEFAULT_AFFINITY_SECONDS = 10800
PROTOCOLS = ("TCP", "UDP")


@dataclass(frozen=True, slots=True, order=True)
class Frontend:
    """Where traffic for a Service arrives: ``protocol`` ``ip``:``port``."""

    protocol: str
    ip: str
    port: int

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}/{self.protocol}"


@dataclass(frozen=True, slots=True, order=True)
class Endpoint:
    """One backend address of a Service port."""

    ip: str
    port: int
    node_name: str = ""


@dataclass(frozen=True, slots=True)
class ServiceRef:
    """The Service a route belongs to, enough to file an Event about it."""

    namespace: str
    name: str
    uid: str = ""
    port_name: str = ""

    def as_object(self) -> Object:
        return {"kind": "Service", "apiVersion": "v1",
                "metadata": {"namespace": self.namespace, "name": self.name, "uid": self.uid}}

    def __str__(self) -> str:
        port = f":{self.port_name}" if self.port_name else ""
        return f"{self.namespace}/{self.name}{port}"


@dataclass(frozen=True, slots=True)
class Route:
    """Where one frontend's traffic goes.

    ``name`` identifies the balancing state (round-robin position, affinity) shared by
    frontends with the same endpoints: a Service port's internal or external side.
    ``endpoints`` are already filtered by readiness and traffic policy; empty means the
    Service has no usable endpoint (connections are refused, as upstream rejects them).
    """

    name: str
    service: ServiceRef
    kind: str
    protocol: str = "TCP"
    endpoints: tuple[Endpoint, ...] = ()
    affinity_seconds: int | None = None
    source_ranges: tuple[ipaddress.IPv4Network, ...] = ()

    def allows(self, client_ip: str) -> bool:
        """Whether ``client_ip`` may use this route (``loadBalancerSourceRanges``)."""
        if not self.source_ranges:
            return True
        try:
            address = ipaddress.IPv4Address(client_ip)
        except ipaddress.AddressValueError:
            return False
        return any(address in network for network in self.source_ranges)


@dataclass(frozen=True)
class ProxyTable:
    """Every frontend of this node and its route."""

    routes: Mapping[Frontend, Route] = field(default_factory=dict)


def build_table(services: Iterable[Object], slices: Iterable[Object], *, node_name: str,
                node_ip: str) -> ProxyTable:
    """The frontends and routes this node's proxy serves."""
    by_service = _slices_by_service(slices)
    routes: dict[Frontend, Route] = {}
    for service in services:
        if not is_proxied(service):
            continue
        meta = service.get("metadata") or {}
        key = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
        for port in (service.get("spec") or {}).get("ports") or []:
            routes.update(_port_routes(service, port, by_service.get(key, []),
                                       node_name=node_name, node_ip=node_ip))
    return ProxyTable(routes)


def is_proxied(service: Object) -> bool:
    """Whether a node proxy serves this Service at all."""
    labels = (service.get("metadata") or {}).get("labels") or {}
    spec = service.get("spec") or {}
    if PROXY_NAME_LABEL in labels or spec.get("type") == "ExternalName":
        return False
    cluster_ip = spec.get("clusterIP")
    return bool(cluster_ip) and cluster_ip != "None"


def _slices_by_service(slices: Iterable[Object]) -> dict[str, list[Object]]:
    grouped: dict[str, list[Object]] = {}
    for endpoint_slice in slices:
        meta = endpoint_slice.get("metadata") or {}
        service_name = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
        if service_name and endpoint_slice.get("addressType", "IPv4") == "IPv4":
            grouped.setdefault(f"{meta.get('namespace', '')}/{service_name}", []).append(
                endpoint_slice)
    return grouped


def _port_routes(service: Object, port: Object, slices: list[Object], *, node_name: str,
                 node_ip: str) -> dict[Frontend, Route]:
    spec = service.get("spec") or {}
    protocol = str(port.get("protocol") or "TCP")
    if protocol not in PROTOCOLS:
        return {}
    candidates = usable_endpoints(slices, str(port.get("name") or ""), protocol)
    internal, external = _sides(service, _ref(service, port), protocol, candidates, node_name)
    routes = {Frontend(protocol, str(spec["clusterIP"]), int(port["port"])): internal}
    node_port = port.get("nodePort")
    if node_port and spec.get("type") in ("NodePort", "LoadBalancer"):
        routes[Frontend(protocol, node_ip, int(node_port))] = external
        if spec.get("externalTrafficPolicy") != "Local" and node_ip != LOOPBACK:
            routes[Frontend(protocol, LOOPBACK, int(node_port))] = external
    if spec.get("type") == "LoadBalancer":
        guarded = _with_source_ranges(external, spec.get("loadBalancerSourceRanges") or [])
        for ip in ingress_ips(service):
            routes[Frontend(protocol, ip, int(port["port"]))] = guarded
    return routes


def _sides(service: Object, ref: ServiceRef, protocol: str, candidates: tuple[Endpoint, ...],
           node_name: str) -> tuple[Route, Route]:
    """The internal (ClusterIP) and external (nodePort, load-balancer) routes of a port."""
    spec = service.get("spec") or {}
    internal = Route(name=f"{ref}/{protocol}/internal", service=ref, kind="cluster-ip",
                     protocol=protocol, affinity_seconds=affinity_seconds(service),
                     endpoints=_on_node(candidates, node_name,
                                        local=spec.get("internalTrafficPolicy") == "Local"))
    external = dataclasses.replace(
        internal, name=f"{ref}/{protocol}/external", kind="node-port",
        endpoints=_on_node(candidates, node_name,
                           local=spec.get("externalTrafficPolicy") == "Local"))
    return internal, external


def _ref(service: Object, port: Object) -> ServiceRef:
    meta = service.get("metadata") or {}
    return ServiceRef(namespace=str(meta.get("namespace") or ""), name=str(meta.get("name")),
                      uid=str(meta.get("uid") or ""),
                      port_name=str(port.get("name") or port.get("port")))


def _on_node(endpoints: tuple[Endpoint, ...], node_name: str, *,
             local: bool) -> tuple[Endpoint, ...]:
    """All endpoints, or with a ``Local`` traffic policy only those on this node."""
    return tuple(e for e in endpoints if e.node_name == node_name) if local else endpoints


def _with_source_ranges(route: Route, ranges: list[str]) -> Route:
    networks = tuple(ipaddress.IPv4Network(r, strict=False) for r in ranges if _is_ipv4(r))
    return dataclasses.replace(route, kind="load-balancer", source_ranges=networks)


def usable_endpoints(slices: list[Object], port_name: str, protocol: str) -> tuple[Endpoint, ...]:
    """Ready endpoints of the port; the serving-and-terminating ones when none is ready."""
    ready: set[Endpoint] = set()
    draining: set[Endpoint] = set()
    for endpoint_slice in slices:
        number = _slice_port(endpoint_slice, port_name, protocol)
        if number is None:
            continue
        for entry in endpoint_slice.get("endpoints") or []:
            conditions = entry.get("conditions") or {}
            addresses = entry.get("addresses") or []
            if not addresses:
                continue
            endpoint = Endpoint(str(addresses[0]), number, str(entry.get("nodeName") or ""))
            if conditions.get("ready") is not False:
                ready.add(endpoint)
            elif conditions.get("serving") and conditions.get("terminating"):
                draining.add(endpoint)
    return tuple(sorted(ready or draining))


def _slice_port(endpoint_slice: Object, port_name: str, protocol: str) -> int | None:
    for port in endpoint_slice.get("ports") or []:
        if (str(port.get("name") or "") == port_name
                and str(port.get("protocol") or "TCP") == protocol and port.get("port")):
            return int(port["port"])
    return None


def affinity_seconds(service: Object) -> int | None:
    """The ClientIP affinity timeout, or None without session affinity."""
    spec = service.get("spec") or {}
    if spec.get("sessionAffinity") != "ClientIP":
        return None
    config = (spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}
    return int(config.get("timeoutSeconds") or DEFAULT_AFFINITY_SECONDS)


def ingress_ips(service: Object) -> list[str]:
    """The load-balancer addresses to serve: unicast IPv4 only (``0.0.0.0`` in a status
    would otherwise open the Service on every interface of the machine)."""
    ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return [str(entry["ip"]) for entry in ingress if _is_unicast_ipv4(entry.get("ip"))]


def _is_unicast_ipv4(text: object) -> bool:
    try:
        address = ipaddress.IPv4Address(str(text))
    except ValueError:
        return False
    return not (address.is_unspecified or address.is_multicast or
                address == ipaddress.IPv4Address("255.255.255.255"))


def _is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Network(text, strict=False)
    except ValueError:
        return False
    return True
