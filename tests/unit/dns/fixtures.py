"""Objects shaped as the API server serves them, and a zone built from them."""

from __future__ import annotations

from typing import Any

from dnslib import DNSRecord

from steersman.dns.records import RecordBuilder, service_records
from steersman.dns.wire import assemble, parse_query
from steersman.dns.zone import Zone, wire_name

Object = dict[str, Any]
DOMAIN = "cluster.local"


def service(name: str, *, namespace: str = "default", cluster_ip: str = "127.43.1.2",
            ports: list[Object] | None = None, **spec: Any) -> Object:
    body: Object = {"clusterIP": cluster_ip, "ports": ports or []}
    if cluster_ip != "None":
        body["clusterIPs"] = [cluster_ip]
    body.update(spec)
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": namespace, "resourceVersion": "1"},
            "spec": body}


def endpoint(address: str, *, ready: bool | None = True, hostname: str = "") -> Object:
    body: Object = {"addresses": [address]}
    if ready is not None:
        body["conditions"] = {"ready": ready}
    if hostname:
        body["hostname"] = hostname
    return body


def endpoint_slice(service_name: str, endpoints: list[Object], *, name: str = "",
                   namespace: str = "default", ports: list[Object] | None = None,
                   address_type: str = "IPv4") -> Object:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name or f"{service_name}-abc", "namespace": namespace,
                         "resourceVersion": "1",
                         "labels": {"kubernetes.io/service-name": service_name}},
            "addressType": address_type, "endpoints": endpoints, "ports": ports or []}


def pod(name: str, ip: str, *, namespace: str = "default", phase: str = "Running") -> Object:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "resourceVersion": "1"},
            "status": {"phase": phase, "podIP": ip, "podIPs": [{"ip": ip}]}}


def zone_with(*services: tuple[Object, list[Object]]) -> Zone:
    """A zone with the apex records and each (service, slices)."""
    zone = Zone(DOMAIN)
    builder = RecordBuilder()
    apex: dict[str, list[Any]] = {}
    builder.apex(apex, domain=DOMAIN, dns_ip="127.43.0.10", serial=1)
    zone.replace("apex", apex)
    for svc, slices in services:
        meta = svc["metadata"]
        zone.replace(f"service:{meta['namespace']}/{meta['name']}",
                     service_records(svc, slices, domain=DOMAIN))
    return zone


def ask(zone: Zone, name: str, qtype: str = "A") -> DNSRecord | None:
    """Query ``zone`` as a client would; None when the name is not the zone's."""
    query = parse_query(DNSRecord.question(name, qtype).pack())
    tail = zone.answer(query.key, query.qtype)
    if tail is None:
        return None
    return DNSRecord.parse(assemble(query, tail, limit=65535))


def rdata(record: DNSRecord, section: str = "rr") -> list[str]:
    return sorted(str(rr.rdata) for rr in getattr(record, section))


def key(name: str) -> bytes:
    return wire_name(name)
