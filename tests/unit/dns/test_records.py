"""Which records a Service (with its EndpointSlices) or a Pod stands for."""

from __future__ import annotations

from dnslib import QTYPE

from steersman.dns.records import RecordBuilder, pod_records, service_records
from tests.unit.dns.fixtures import DOMAIN, endpoint, endpoint_slice, pod, service

WEB = "web.default.svc.cluster.local"


def _by_type(records: dict[str, list[object]], name: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for rr in records.get(name, []):
        out.setdefault(QTYPE[rr.rtype], []).append(str(rr.rdata))  # type: ignore[attr-defined]
    return out


def test_cluster_ip_service_has_an_address_and_srv_per_named_port() -> None:
    svc = service("web", ports=[{"name": "http", "port": 80, "protocol": "TCP"},
                                {"name": "DNS", "port": 53, "protocol": "UDP"},
                                {"port": 9000, "protocol": "TCP"}])
    records = service_records(svc, [], domain=DOMAIN)
    assert _by_type(records, WEB)["A"] == ["127.43.1.2"]
    assert _by_type(records, f"_http._tcp.{WEB}") == {"SRV": [f"0 100 80 {WEB}."]}
    assert _by_type(records, f"_dns._udp.{WEB}") == {"SRV": [f"0 100 53 {WEB}."]}
    assert not any(name.startswith("_9000") for name in records)
    assert len(_by_type(records, WEB)["SRV"]) == 3


def test_ipv6_cluster_ip_is_an_aaaa_record() -> None:
    records = service_records(service("web", cluster_ip="fd00::a"), [], domain=DOMAIN)
    assert _by_type(records, WEB) == {"AAAA": ["fd00::a"]}


def test_headless_service_has_one_address_per_ready_endpoint() -> None:
    svc = service("db", cluster_ip="None")
    slices = [endpoint_slice("db", [endpoint("127.42.0.5", hostname="db-0"),
                                    endpoint("127.42.0.6", ready=None),
                                    endpoint("127.42.0.7", ready=False)],
                             ports=[{"name": "pg", "port": 5432, "protocol": "TCP"}])]
    records = service_records(svc, slices, domain=DOMAIN)
    db = "db.default.svc.cluster.local"
    assert _by_type(records, db)["A"] == ["127.42.0.5", "127.42.0.6"]
    assert _by_type(records, f"db-0.{db}") == {"A": ["127.42.0.5"]}
    assert _by_type(records, f"127-42-0-6.{db}") == {"A": ["127.42.0.6"]}
    assert f"127-42-0-7.{db}" not in records
    assert sorted(_by_type(records, f"_pg._tcp.{db}")["SRV"]) == [
        f"0 50 5432 127-42-0-6.{db}.", f"0 50 5432 db-0.{db}."]


def test_publish_not_ready_addresses_keeps_unready_endpoints() -> None:
    svc = service("db", cluster_ip="None", publishNotReadyAddresses=True)
    slices = [endpoint_slice("db", [endpoint("127.42.0.7", ready=False)])]
    records = service_records(svc, slices, domain=DOMAIN)
    assert _by_type(records, "db.default.svc.cluster.local") == {"A": ["127.42.0.7"]}


def test_headless_service_without_endpoints_still_names_the_service() -> None:
    records = service_records(service("db", cluster_ip="None"), [], domain=DOMAIN)
    assert records == {"db.default.svc.cluster.local": []}


def test_fqdn_slices_give_no_addresses() -> None:
    slices = [endpoint_slice("db", [endpoint("example.com")], address_type="FQDN")]
    records = service_records(service("db", cluster_ip="None"), slices, domain=DOMAIN)
    assert records == {"db.default.svc.cluster.local": []}


def test_external_name_service_is_a_cname() -> None:
    svc = service("ext", cluster_ip="", type="ExternalName", externalName="db.example.com")
    records = service_records(svc, [], domain=DOMAIN)
    assert _by_type(records, "ext.default.svc.cluster.local") == {"CNAME": ["db.example.com."]}


def test_pod_records_use_the_dashed_ip_until_the_pod_finishes() -> None:
    assert _by_type(pod_records(pod("p", "127.42.0.9"), domain=DOMAIN),
                    "127-42-0-9.default.pod.cluster.local") == {"A": ["127.42.0.9"]}
    assert pod_records(pod("p", "127.42.0.9", phase="Succeeded"), domain=DOMAIN) == {}
    assert pod_records({"metadata": {"name": "p", "namespace": "default"}}, domain=DOMAIN) == {}


def test_the_builder_sets_the_ttl() -> None:
    records = service_records(service("web"), [], domain=DOMAIN, builder=RecordBuilder(ttl=30))
    assert {rr.ttl for rr in records[WEB]} == {30}
