"""The userspace backend on real loopback sockets: TCP and UDP relays, draining, source
ranges, shared listeners and frontends that cannot be bound."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import random
import socket
from collections.abc import AsyncIterator, Callable

import pytest

from steersman.proxy.model import Endpoint, Frontend, ProxyTable, Route, ServiceRef
from steersman.proxy.userspace import ListenerPool, UserspaceBackend

SERVICE = ServiceRef("ns", "web", "uid-1", "http")


def fresh_block() -> Callable[[int], str]:
    """Addresses of a random 127.x.y.0/24 unlikely to be used by anyone else."""
    a, b = random.randrange(100, 250), random.randrange(0, 255)
    return lambda host: f"127.{a}.{b}.{host}"


@pytest.fixture
def ip() -> Callable[[int], str]:
    return fresh_block()


async def named_server(host: str, name: str) -> asyncio.Server:
    """A TCP endpoint that answers every line with ``name:line``."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while line := await reader.readline():
                writer.write(f"{name}:".encode() + line)
                await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, host, 0)


def port_of(server: asyncio.Server) -> int:
    return int(server.sockets[0].getsockname()[1])


@contextlib.asynccontextmanager
async def endpoints(ip: Callable[[int], str], *names: str) -> AsyncIterator[list[Endpoint]]:
    servers = [await named_server(ip(10 + i), name) for i, name in enumerate(names)]
    try:
        yield [Endpoint(ip(10 + i), port_of(s)) for i, s in enumerate(servers)]
    finally:
        for server in servers:
            server.close()


def route(*eps: Endpoint, protocol: str = "TCP", side: str = "internal",
          **kwargs: object) -> Route:
    return Route(name=f"ns/web:http/{protocol}/{side}", service=SERVICE, kind="cluster-ip",
                 protocol=protocol, endpoints=tuple(eps), **kwargs)  # type: ignore[arg-type]


async def ask(frontend: Frontend, line: str = "hi", *, source: str = "127.0.0.1") -> str:
    reader, writer = await asyncio.open_connection(frontend.ip, frontend.port,
                                                   local_addr=(source, 0))
    try:
        writer.write(line.encode() + b"\n")
        await writer.drain()
        return (await reader.readline()).decode().strip()
    finally:
        writer.close()


async def test_tcp_round_robin_over_endpoints(ip: Callable[[int], str]) -> None:
    backend = UserspaceBackend()
    frontend = Frontend("TCP", ip(1), 8000)
    async with endpoints(ip, "a", "b", "c") as eps:
        assert await backend.sync(ProxyTable({frontend: route(*eps)})) == []
        answers = [await ask(frontend, f"q{i}") for i in range(6)]
        assert sorted(answers) == ["a:q0", "a:q3", "b:q1", "b:q4", "c:q2", "c:q5"]
        await backend.close()
    assert backend.frontends == set()
    with pytest.raises(OSError):
        await ask(frontend)


async def test_removed_endpoint_drains_and_refused_ones_are_skipped(
        ip: Callable[[int], str]) -> None:
    backend = UserspaceBackend()
    frontend = Frontend("TCP", ip(1), 8000)
    dead = Endpoint(ip(99), 9)  # nothing listens there: connections are refused
    async with endpoints(ip, "a", "b") as (a, b):
        await backend.sync(ProxyTable({frontend: route(a)}))
        reader, writer = await asyncio.open_connection(frontend.ip, frontend.port)
        writer.write(b"one\n")
        assert await reader.readline() == b"a:one\n"
        await backend.sync(ProxyTable({frontend: route(dead, b)}))
        writer.write(b"two\n")  # the open connection still reaches the drained endpoint
        assert await reader.readline() == b"a:two\n"
        writer.close()
        assert {await ask(frontend) for _ in range(4)} == {"b:hi"}
        await backend.close()


async def test_no_endpoints_and_source_ranges_close_the_connection(
        ip: Callable[[int], str]) -> None:
    backend = UserspaceBackend()
    empty, guarded = Frontend("TCP", ip(1), 8000), Frontend("TCP", ip(2), 8000)
    async with endpoints(ip, "a") as eps:
        ranges = (ipaddress.IPv4Network(f"{ip(0)}/24"),)
        guarded_route = route(*eps, side="external", source_ranges=ranges)
        await backend.sync(ProxyTable({empty: route(), guarded: guarded_route}))
        assert await ask(guarded, source=ip(50)) == "a:hi"
        with contextlib.suppress(ConnectionResetError):  # closed at once: EOF or reset
            assert await ask(guarded, source="127.0.0.1") == ""
        with pytest.raises(ConnectionRefusedError):  # not bound: the kernel refuses
            await ask(empty)
        assert backend.frontends == {guarded}
        await backend.close()


async def test_port_in_use_is_a_bind_failure_until_freed(ip: Callable[[int], str]) -> None:
    backend = UserspaceBackend()
    frontend = Frontend("TCP", ip(1), 8000)
    holder = socket.socket()
    holder.bind((frontend.ip, frontend.port))
    holder.listen()
    async with endpoints(ip, "a") as eps:
        table = ProxyTable({frontend: route(*eps)})
        [failure] = await backend.sync(table)
        assert failure.frontend == frontend and failure.service == SERVICE
        assert "in use" in failure.reason and "another process holds it" in failure.fix
        assert "cannot serve" in failure.message("n1")
        holder.close()
        assert await backend.sync(table) == []
        assert await ask(frontend) == "a:hi"
        await backend.close()


async def test_proxies_of_one_process_share_a_frontend(ip: Callable[[int], str]) -> None:
    pool = ListenerPool()
    first, second = UserspaceBackend(pool=pool), UserspaceBackend(pool=pool)
    frontend = Frontend("TCP", ip(1), 8000)
    async with endpoints(ip, "a") as eps:
        table = ProxyTable({frontend: route(*eps)})
        assert await first.sync(table) == [] and await second.sync(table) == []
        await first.close()
        assert await ask(frontend) == "a:hi"
        await second.close()
        assert pool.frontends() == set()
        with socket.socket() as probe:  # released by the last owner
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((frontend.ip, frontend.port))
            probe.listen()


async def test_udp_sessions_are_relayed_both_ways(ip: Callable[[int], str]) -> None:
    loop = asyncio.get_running_loop()

    class Echo(asyncio.DatagramProtocol):
        def __init__(self, name: str) -> None:
            self.name = name

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport

        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            self.transport.sendto(self.name.encode() + b":" + data, addr)  # type: ignore[attr-defined]

    servers = [await loop.create_datagram_endpoint(lambda n=n: Echo(n),  # type: ignore[misc]
                                                   local_addr=(ip(10 + i), 0))
               for i, n in enumerate(("a", "b"))]
    eps = [Endpoint(ip(10 + i), t.get_extra_info("sockname")[1])
           for i, (t, _) in enumerate(servers)]
    backend = UserspaceBackend()
    frontend = Frontend("UDP", ip(1), 5353)
    await backend.sync(ProxyTable({frontend: route(*eps, protocol="UDP")}))
    answers = []
    for i in range(2):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.setblocking(False)
            await loop.sock_connect(client, (frontend.ip, frontend.port))
            for j in range(2):
                await loop.sock_sendall(client, f"q{i}{j}".encode())
                answers.append((await asyncio.wait_for(loop.sock_recv(client, 100), 5)).decode())
    assert answers == ["a:q00", "a:q01", "b:q10", "b:q11"]  # one endpoint per client session
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.setblocking(False)
        await loop.sock_connect(client, (frontend.ip, frontend.port))
        await loop.sock_sendall(client, b"x")
        first = (await asyncio.wait_for(loop.sock_recv(client, 100), 5)).decode()
        remaining = eps[1] if first.startswith("a:") else eps[0]
        await backend.sync(ProxyTable({frontend: route(remaining, protocol="UDP")}))
        await loop.sock_sendall(client, b"y")  # its endpoint left: the session moves
        moved = (await asyncio.wait_for(loop.sock_recv(client, 100), 5)).decode()
        assert moved[0] != first[0] and moved.endswith(":y")
    await backend.close()
    for transport, _ in servers:
        transport.close()


async def test_half_close_is_passed_on(ip: Callable[[int], str]) -> None:
    """A client that ends its side still gets the whole answer (HTTP/1.0-style upload)."""

    async def count_until_eof(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received = await reader.read()  # until the client's EOF arrives through the proxy
        writer.write(f"got {len(received)} bytes".encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(count_until_eof, ip(10), 0)
    backend = UserspaceBackend()
    frontend = Frontend("TCP", ip(1), 8000)
    await backend.sync(ProxyTable({frontend: route(Endpoint(ip(10), port_of(server)))}))
    reader, writer = await asyncio.open_connection(frontend.ip, frontend.port)
    writer.write(b"x" * 1_000_000)
    writer.write_eof()
    assert await reader.read() == b"got 1000000 bytes"
    writer.close()
    await backend.close()
    server.close()
