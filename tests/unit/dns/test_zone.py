"""Lookups in the zone: answers, NODATA vs NXDOMAIN, merging owners, following changes."""

from __future__ import annotations

from dnslib import QTYPE, RCODE

from steersman.dns.records import pod_records, service_records
from steersman.dns.zone import Zone
from tests.unit.dns.fixtures import (
    DOMAIN,
    ask,
    endpoint,
    endpoint_slice,
    key,
    pod,
    rdata,
    service,
    zone_with,
)

WEB = "web.default.svc.cluster.local"


def test_a_cluster_ip_service_answers_authoritatively_with_ttl_5() -> None:
    reply = ask(zone_with((service("web"), [])), WEB)
    assert reply is not None
    assert reply.header.rcode == RCODE.NOERROR and reply.header.aa
    assert rdata(reply) == ["127.43.1.2"] and reply.rr[0].ttl == 5


def test_an_existing_name_without_the_type_is_nodata_with_the_soa() -> None:
    reply = ask(zone_with((service("web"), [])), WEB, "AAAA")
    assert reply is not None
    assert reply.header.rcode == RCODE.NOERROR and not reply.rr
    assert [QTYPE[rr.rtype] for rr in reply.auth] == ["SOA"]
    assert str(reply.auth[0].rname) == "cluster.local."


def test_a_missing_name_in_the_zone_is_nxdomain_with_the_soa() -> None:
    reply = ask(zone_with((service("web"), [])), "nope.default.svc.cluster.local")
    assert reply is not None
    assert reply.header.rcode == RCODE.NXDOMAIN
    assert [QTYPE[rr.rtype] for rr in reply.auth] == ["SOA"]


def test_ancestors_of_a_name_exist_until_their_last_descendant_goes() -> None:
    zone = zone_with((service("web"), []))
    reply = ask(zone, "default.svc.cluster.local")
    assert reply is not None and reply.header.rcode == RCODE.NOERROR
    zone.replace("service:default/web", {})
    reply = ask(zone, "default.svc.cluster.local")
    assert reply is not None and reply.header.rcode == RCODE.NXDOMAIN
    assert "svc.cluster.local" not in zone and "cluster.local" in zone


def test_names_outside_the_zone_are_not_answered() -> None:
    assert ask(zone_with(), "example.com") is None
    assert ask(zone_with(), "notcluster.local") is None


def test_lookups_ignore_letter_case() -> None:
    reply = ask(zone_with((service("web"), [])), "WeB.Default.SVC.cluster.LOCAL")
    assert reply is not None and rdata(reply) == ["127.43.1.2"]
    assert str(reply.q.qname) == "WeB.Default.SVC.cluster.LOCAL."


def test_srv_answers_carry_their_targets_addresses() -> None:
    svc = service("db", cluster_ip="None")
    slices = [endpoint_slice("db", [endpoint("127.42.0.5", hostname="db-0")],
                             ports=[{"name": "pg", "port": 5432, "protocol": "TCP"}])]
    reply = ask(zone_with((svc, slices)), "_pg._tcp.db.default.svc.cluster.local", "SRV")
    assert reply is not None
    assert rdata(reply) == ["0 100 5432 db-0.db.default.svc.cluster.local."]
    assert rdata(reply, "ar") == ["127.42.0.5"]


def test_a_cname_is_followed_inside_the_zone_only() -> None:
    inside = service("alias", cluster_ip="", type="ExternalName", externalName=WEB)
    outside = service("ext", cluster_ip="", type="ExternalName", externalName="example.com")
    zone = zone_with((service("web"), []), (inside, []), (outside, []))
    reply = ask(zone, "alias.default.svc.cluster.local")
    assert reply is not None and rdata(reply) == ["127.43.1.2", f"{WEB}."]
    reply = ask(zone, "ext.default.svc.cluster.local")
    assert reply is not None and rdata(reply) == ["example.com."]
    reply = ask(zone, "ext.default.svc.cluster.local", "CNAME")
    assert reply is not None and rdata(reply) == ["example.com."]


def test_pod_records_and_owners_sharing_a_name() -> None:
    zone = zone_with()
    for name in ("a", "b"):
        zone.replace(f"pod:default/{name}", pod_records(pod(name, "10.0.0.1"), domain=DOMAIN))
    name = "10-0-0-1.default.pod.cluster.local"
    reply = ask(zone, name)
    assert reply is not None and rdata(reply) == ["10.0.0.1"]
    zone.replace("pod:default/a", {})
    assert name in zone
    zone.replace("pod:default/b", {})
    reply = ask(zone, name)
    assert reply is not None and reply.header.rcode == RCODE.NXDOMAIN


def test_answers_follow_a_change_of_endpoints() -> None:
    svc = service("db", cluster_ip="None")
    zone = zone_with((svc, [endpoint_slice("db", [endpoint("127.42.0.5")])]))
    first = ask(zone, "db.default.svc.cluster.local")
    assert first is not None and rdata(first) == ["127.42.0.5"]
    zone.replace("service:default/db", service_records(
        svc, [endpoint_slice("db", [endpoint("127.42.0.6")])], domain=DOMAIN))
    second = ask(zone, "db.default.svc.cluster.local")
    assert second is not None and rdata(second) == ["127.42.0.6"]
    assert "127-42-0-5.db.default.svc.cluster.local" not in zone


def test_the_apex_answers_soa_and_ns() -> None:
    zone = zone_with()
    soa = ask(zone, "cluster.local", "SOA")
    assert soa is not None and QTYPE[soa.rr[0].rtype] == "SOA"
    ns = ask(zone, "cluster.local", "NS")
    assert ns is not None and rdata(ns) == ["ns.dns.cluster.local."]
    server = ask(zone, "ns.dns.cluster.local")
    assert server is not None and rdata(server) == ["127.43.0.10"]


def test_names_dns_cannot_carry_are_skipped() -> None:
    zone = Zone(DOMAIN)
    zone.replace("x", {("a" * 64) + ".default.svc.cluster.local": [], "example.com": []})
    assert len(zone) == 0
    assert key("Web.Default") == b"\x03web\x07default\x00"


def test_prepared_answers_follow_the_names_they_read() -> None:
    svc = service("db", cluster_ip="None")
    ports = [{"name": "pg", "port": 5432, "protocol": "TCP"}]
    zone = zone_with((svc, [endpoint_slice("db", [endpoint("127.42.0.5", hostname="db-0")],
                                            ports=ports)]))
    alias = service("alias", cluster_ip="", type="ExternalName",
                    externalName="db-0.db.default.svc.cluster.local")
    zone.replace("service:default/alias", service_records(alias, [], domain=DOMAIN))
    srv_name = "_pg._tcp.db.default.svc.cluster.local"
    first, cname = ask(zone, srv_name, "SRV"), ask(zone, "alias.default.svc.cluster.local")
    assert first is not None and rdata(first, "ar") == ["127.42.0.5"]
    assert cname is not None and "127.42.0.5" in rdata(cname)
    # The pod behind db-0 moves: the SRV records stay the same, their target does not.
    zone.replace("service:default/db", service_records(
        svc, [endpoint_slice("db", [endpoint("127.42.0.9", hostname="db-0")], ports=ports)],
        domain=DOMAIN))
    second, cname = ask(zone, srv_name, "SRV"), ask(zone, "alias.default.svc.cluster.local")
    assert second is not None and rdata(second, "ar") == ["127.42.0.9"]
    assert cname is not None and "127.42.0.9" in rdata(cname)


def test_a_name_that_appears_is_no_longer_nxdomain() -> None:
    zone = zone_with()
    name = "web.default.svc.cluster.local"
    before = ask(zone, name)
    assert before is not None and before.header.rcode == RCODE.NXDOMAIN
    parent = ask(zone, "default.svc.cluster.local")
    assert parent is not None and parent.header.rcode == RCODE.NXDOMAIN
    zone.replace("service:default/web", service_records(service("web"), [], domain=DOMAIN))
    after = ask(zone, name)
    assert after is not None and rdata(after) == ["127.43.1.2"]
    parent = ask(zone, "default.svc.cluster.local")
    assert parent is not None and parent.header.rcode == RCODE.NOERROR
