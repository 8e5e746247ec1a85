"""The records one Service (with its EndpointSlices) or one Pod stands for, as CoreDNS's
``kubernetes`` plugin names them (the Kubernetes DNS specification, schema 1.1.0).

* ``<svc>.<ns>.svc.<domain>``: A/AAAA of the ClusterIPs; for a headless Service one A/AAAA
  per ready endpoint address; for an ExternalName Service a CNAME to ``spec.externalName``.
* ``<endpoint>.<svc>.<ns>.svc.<domain>`` (headless): A/AAAA of one endpoint, named by its
  ``hostname`` (StatefulSet pods with a subdomain) or its address with dashes.
* ``_<port>._<proto>.<svc>.<ns>.svc.<domain>``: SRV for each named port, aimed at the
  Service name (ClusterIP) or at each ready endpoint's name (headless); the bare Service
  name answers SRV for all its ports.
* ``<a-b-c-d>.<ns>.pod.<domain>``: A/AAAA of a pod's IPs (the plugin's ``pods verified``).

Endpoints count when ``conditions.ready`` is not false, or always when the Service sets
``publishNotReadyAddresses``. Functions here are pure: objects in, :data:`Records` out;
:mod:`.zone` merges them and :mod:`.sync` calls them on informer events.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from dnslib import AAAA, CNAME, NS, QTYPE, RR, SOA, SRV, A, DNSLabel

Object = Mapping[str, Any]
Records = dict[str, list[RR]]
"""Owner name (absolute, lower case, no trailing dot) → its resource records."""

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
DEFAULT_TTL = 5


@dataclass(frozen=True)
class RecordBuilder:
    """Builds resource records with one TTL into a :data:`Records` map."""

    ttl: int = DEFAULT_TTL

    def address(self, records: Records, name: str, ip: str) -> None:
        version = ipaddress.ip_address(ip).version
        rtype, rdata = (QTYPE.A, A(ip)) if version == 4 else (QTYPE.AAAA, AAAA(ip))
        self._add(records, name, rtype, rdata)

    def cname(self, records: Records, name: str, target: str) -> None:
        self._add(records, name, QTYPE.CNAME, CNAME(_absolute(target)))

    def srv(self, records: Records, name: str, targets: list[tuple[int, str]]) -> None:
        """One SRV per (port, target) at ``name``, weights sharing 100 as CoreDNS's do."""
        weight = max(1, 100 // max(1, len(targets)))
        for port, target in targets:
            self._add(records, name, QTYPE.SRV, SRV(0, weight, port, _absolute(target)))

    def apex(self, records: Records, *, domain: str, dns_ip: str, serial: int) -> None:
        """SOA and NS of the zone, and the name server's own address."""
        server = f"ns.dns.{domain}"
        soa = SOA(_absolute(server), _absolute(f"hostmaster.{domain}"),
                  (serial, 7200, 1800, 86400, self.ttl))
        self._add(records, domain, QTYPE.SOA, soa)
        self._add(records, domain, QTYPE.NS, NS(_absolute(server)))
        self.address(records, server, dns_ip)

    def _add(self, records: Records, name: str, rtype: int, rdata: Any) -> None:
        # Duplicates (one address in two slices) are dropped where the zone merges owners.
        records.setdefault(name, []).append(RR(DNSLabel(name), rtype, rdata=rdata, ttl=self.ttl))


@dataclass(frozen=True)
class _Endpoint:
    name: str
    address: str


def service_records(service: Object, slices: Iterable[Object], *, domain: str,
                    builder: RecordBuilder = RecordBuilder()) -> Records:
    """Every record the Service ``service`` (and its ``slices``) stands for."""
    meta, spec = service.get("metadata") or {}, service.get("spec") or {}
    name = f"{meta['name']}.{meta['namespace']}.svc.{domain}".lower()
    records: Records = {name: []}
    if spec.get("type") == "ExternalName":
        if spec.get("externalName"):
            builder.cname(records, name, str(spec["externalName"]))
        return records
    if _headless(spec):
        _headless_records(records, name, spec, list(slices), builder)
        return records
    for ip in spec.get("clusterIPs") or [spec.get("clusterIP")]:
        if ip and ip != "None":
            builder.address(records, name, str(ip))
    ports = spec.get("ports") or []
    for port in ports:
        if port.get("name"):
            builder.srv(records, _srv_name(port, name), [(int(port["port"]), name)])
    builder.srv(records, name, [(int(port["port"]), name) for port in ports])
    return records


def _headless(spec: Object) -> bool:
    return spec.get("clusterIP") == "None"


def _headless_records(records: Records, name: str, spec: Object, slices: list[Object],
                      builder: RecordBuilder) -> None:
    everyone = bool(spec.get("publishNotReadyAddresses"))
    all_targets: list[tuple[int, str]] = []
    for endpoint_slice in slices:
        endpoints = list(_endpoints(endpoint_slice, everyone))
        for endpoint in endpoints:
            builder.address(records, name, endpoint.address)
            builder.address(records, f"{endpoint.name}.{name}", endpoint.address)
        for port in endpoint_slice.get("ports") or []:
            if port.get("port") is None:
                continue
            targets = [(int(port["port"]), f"{ep.name}.{name}") for ep in endpoints]
            all_targets.extend(targets)
            if port.get("name"):
                builder.srv(records, _srv_name(port, name), targets)
    builder.srv(records, name, all_targets)


def _endpoints(endpoint_slice: Object, everyone: bool) -> Iterator[_Endpoint]:
    if endpoint_slice.get("addressType") not in ("IPv4", "IPv6"):
        return
    for endpoint in endpoint_slice.get("endpoints") or []:
        if not everyone and (endpoint.get("conditions") or {}).get("ready") is False:
            continue
        for address in endpoint.get("addresses") or []:
            label = endpoint.get("hostname") or _dashed(str(address))
            yield _Endpoint(str(label).lower(), str(address))


def pod_records(pod: Object, *, domain: str,
                builder: RecordBuilder = RecordBuilder()) -> Records:
    """``<a-b-c-d>.<ns>.pod.<domain>`` for each IP of a pod that is not finished."""
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    records: Records = {}
    if status.get("phase") in ("Succeeded", "Failed"):
        return records
    ips = [entry.get("ip") for entry in status.get("podIPs") or []] or [status.get("podIP")]
    for ip in ips:
        if ip:
            builder.address(records, f"{_dashed(str(ip))}.{meta['namespace']}.pod.{domain}",
                            str(ip))
    return records


def service_key_of_slice(endpoint_slice: Object) -> str | None:
    """``namespace/service`` that an EndpointSlice belongs to, from its service-name label."""
    meta = endpoint_slice.get("metadata") or {}
    service = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
    return f"{meta.get('namespace', '')}/{service}" if service else None


def _srv_name(port: Object, service_name: str) -> str:
    protocol = str(port.get("protocol") or "TCP").lower()
    return f"_{str(port['name']).lower()}._{protocol}.{service_name}"


def _dashed(ip: str) -> str:
    return ip.replace(".", "-").replace(":", "-")


def _absolute(name: str) -> str:
    return name if name.endswith(".") else name + "."
