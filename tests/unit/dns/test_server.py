"""The asyncio listeners: cluster names answered locally, others forwarded, over UDP and TCP.

Real sockets on 127.0.0.1, a real client (dnslib's ``send``, in a thread), and a fake
upstream resolver on 127.0.0.1 (never the host's resolvers).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from dnslib import EDNS0, RCODE, DNSRecord

from steersman.dns.forward import (
    Forwarder,
    Upstream,
    parse_upstream,
    resolv_conf_upstreams,
)
from steersman.dns.server import DNSServer, Resolver
from tests.unit.dns.fake_upstream import FORWARDED_ADDRESS, FakeUpstream
from tests.unit.dns.fixtures import rdata, service, zone_with


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    fake = FakeUpstream()
    try:
        yield fake
    finally:
        fake.close()


@pytest.fixture
async def server(upstream: FakeUpstream) -> AsyncIterator[DNSServer]:
    forwarder = Forwarder([Upstream("127.0.0.1", upstream.port)], timeout=2.0)
    dns = DNSServer(Resolver(zone_with((service("web"), [])), forwarder))
    await dns.start("127.0.0.1", 0)
    try:
        yield dns
    finally:
        await dns.stop()


async def ask(server: DNSServer, name: str, qtype: str = "A", *, tcp: bool = False,
              edns: bool = False) -> DNSRecord:
    query = DNSRecord.question(name, qtype)
    if edns:
        query.add_ar(EDNS0(udp_len=4096))
    data = await asyncio.to_thread(query.send, "127.0.0.1", server.address[1], tcp=tcp,
                                   timeout=5)
    return DNSRecord.parse(data)


@pytest.mark.parametrize("tcp", [False, True])
async def test_cluster_names_are_answered_locally(server: DNSServer, upstream: FakeUpstream,
                                                  tcp: bool) -> None:
    reply = await ask(server, "web.default.svc.cluster.local", tcp=tcp)
    assert reply.header.aa and rdata(reply) == ["127.43.1.2"]
    missing = await ask(server, "nope.default.svc.cluster.local", tcp=tcp)
    assert missing.header.rcode == RCODE.NXDOMAIN
    assert upstream.asked == []


@pytest.mark.parametrize("tcp", [False, True])
async def test_other_names_are_forwarded(server: DNSServer, upstream: FakeUpstream,
                                         tcp: bool) -> None:
    reply = await ask(server, "www.example.org", tcp=tcp)
    assert reply.header.rcode == RCODE.NOERROR and rdata(reply) == [FORWARDED_ADDRESS]
    assert upstream.asked == [("udp", "www.example.org.", "A")]


async def test_a_truncated_upstream_answer_is_asked_again_over_tcp(
        server: DNSServer, upstream: FakeUpstream) -> None:
    small = await ask(server, "big.example.org")
    assert small.header.tc == 1 and not small.rr
    large = await ask(server, "big.example.org", tcp=True)
    assert len(large.rr) == 60 and large.header.tc == 0
    fits = await ask(server, "big.example.org", edns=True)
    assert len(fits.rr) == 60
    assert [proto for proto, _, _ in upstream.asked] == ["udp", "tcp"] * 3


async def test_no_upstream_answer_is_servfail() -> None:
    closed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    dns = DNSServer(Resolver(zone_with(), Forwarder([Upstream("127.0.0.1", port)],
                                                     timeout=0.5)))
    await dns.start("127.0.0.1", 0)
    try:
        assert (await ask(dns, "example.org")).header.rcode == RCODE.SERVFAIL
    finally:
        await dns.stop()
    without = DNSServer(Resolver(zone_with(), Forwarder([])))
    await without.start("127.0.0.1", 0)
    try:
        assert (await ask(without, "example.org")).header.rcode == RCODE.SERVFAIL
    finally:
        await without.stop()


async def test_garbage_gets_formerr(server: DNSServer) -> None:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    try:
        await loop.sock_connect(sock, server.address)
        await loop.sock_sendall(sock, b"\xab\xcd\x01\x00\x00\x05" + b"\x00" * 6)
        answer = await asyncio.wait_for(loop.sock_recv(sock, 512), 5)
    finally:
        sock.close()
    header = DNSRecord.parse(answer).header
    assert header.id == 0xABCD and header.rcode == RCODE.FORMERR


async def test_binding_a_taken_port_fails_and_leaves_nothing_bound(server: DNSServer) -> None:
    other = DNSServer(server.resolver)
    with pytest.raises(OSError):
        await other.start("127.0.0.1", server.address[1])
    await other.stop()


def test_upstreams_are_parsed_and_read_from_resolv_conf(tmp_path: Path) -> None:
    assert parse_upstream("127.0.0.53") == Upstream("127.0.0.53", 53)
    assert parse_upstream("127.0.0.9:5353") == Upstream("127.0.0.9", 5353)
    assert parse_upstream("[::1]:5353") == Upstream("::1", 5353)
    assert parse_upstream("::1") == Upstream("::1", 53)
    for bad in ("resolver.example", "127.0.0.1:0", "127.0.0.1:x"):
        with pytest.raises(ValueError, match="DNS upstream"):
            parse_upstream(bad)
    conf = tmp_path / "resolv.conf"
    conf.write_text("# comment\nsearch example\nnameserver 127.0.0.53\n"
                    "nameserver 127.43.0.10\nnameserver fe80::1%eth0\noptions ndots:1\n")
    assert resolv_conf_upstreams(conf, exclude=("127.43.0.10",)) == [
        Upstream("127.0.0.53"), Upstream("fe80::1")]
    assert resolv_conf_upstreams(tmp_path / "missing") == []


async def test_forwarding_beyond_the_bound_is_servfail_at_once(upstream: FakeUpstream) -> None:
    resolver = Resolver(zone_with(), Forwarder([Upstream("127.0.0.1", upstream.port)]),
                        max_forwards=1)
    first = bytes(DNSRecord.question("one.example.org").pack())
    second = bytes(DNSRecord.question("two.example.org").pack())
    answer, held = resolver.local(first, tcp=False)
    assert answer is None and held is not None
    refused, _ = resolver.local(second, tcp=False)
    assert refused is not None and DNSRecord.parse(refused).header.rcode == RCODE.SERVFAIL
    assert rdata(DNSRecord.parse(await resolver.forwarded(held, tcp=False))) == [
        FORWARDED_ADDRESS]
    answer, held = resolver.local(second, tcp=False)
    assert answer is None and held is not None
    await resolver.forwarded(held, tcp=False)
