"""The asyncio proxy against real upstream servers on loopback (no cluster needed).

Upstreams are aiohttp apps on 127.0.0.1 ephemeral ports; the snapshot is built from
Ingress/Service/EndpointSlice/Secret objects as the controller would build it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from steersman.ingress.certificates import ContextCache, default_context, self_signed
from steersman.ingress.proxy import IngressProxy
from steersman.ingress.snapshot import build_snapshot

Object = dict[str, Any]


class Upstreams:
    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.runners: list[web.AppRunner] = []
        self.ports: list[int] = []

    def app(self, name: str) -> web.Application:
        async def hello(request: web.Request) -> web.Response:
            headers = {k: v for k, v in request.headers.items() if k.startswith("X-")}
            return web.json_response({"name": name, "path": request.path, "headers": headers})

        async def echo(request: web.Request) -> web.Response:
            return web.Response(body=await request.read())

        async def stream(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse()
            await response.prepare(request)
            await response.write(b"first\n")
            await self.release.wait()  # the test reads "first" before this is released
            await response.write(b"second\n")
            await response.write_eof()
            return response

        async def socket(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            async for message in ws:
                await ws.send_str(f"{name}:{message.data}")
            return ws

        app = web.Application()
        app.router.add_get("/ws", socket)
        app.router.add_get("/stream", stream)
        app.router.add_post("/echo", echo)
        app.router.add_get("/{tail:.*}", hello)
        return app

    async def start(self, name: str) -> int:
        runner = web.AppRunner(self.app(name), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.runners.append(runner)
        port: int = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.ports.append(port)
        return port


def objects(ports: list[int], certs: dict[str, tuple[bytes, bytes]]) -> dict[str, Any]:
    def backend(service: str) -> Object:
        return {"service": {"name": service, "port": {"name": "http"}}}

    ingress = {"metadata": {"name": "i", "namespace": "ns", "creationTimestamp": "1"}, "spec": {
        "tls": [{"hosts": [host], "secretName": host} for host in certs],
        "rules": [{"host": "a.test", "http": {"paths": [
                      {"path": "/", "pathType": "Prefix", "backend": backend("web")}]}},
                  {"host": "b.test", "http": {"paths": [
                      {"path": "/", "pathType": "Prefix", "backend": backend("web")}]}},
                  {"host": "plain.test", "http": {"paths": [
                      {"path": "/", "pathType": "Prefix", "backend": backend("web")},
                      {"path": "/down", "pathType": "Prefix", "backend": backend("down")}]}}]}}
    services = {f"ns/{name}": {"metadata": {"name": name, "namespace": "ns"},
                               "spec": {"ports": [{"name": "http", "port": 80}]}}
                for name in ("web", "down")}
    endpoints = [{"addresses": ["127.0.0.1"], "conditions": {"ready": True}}]
    slices = [{"metadata": {"name": f"web-{port}", "namespace": "ns",
                            "labels": {"kubernetes.io/service-name": "web"}},
               "addressType": "IPv4", "ports": [{"name": "http", "port": port}],
               "endpoints": endpoints} for port in ports]
    secrets = {f"ns/{host}": {"metadata": {"name": host, "namespace": "ns",
                                           "resourceVersion": "1"},
                              "type": "kubernetes.io/tls",
                              "data": {"tls.crt": base64.b64encode(cert).decode(),
                                       "tls.key": base64.b64encode(key).decode()}}
               for host, (cert, key) in certs.items()}
    return {"ingresses": [ingress], "services": services, "slices": slices,
            "secrets": secrets}


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[tuple[IngressProxy, Upstreams, dict[str, Path]]]:
    upstreams = Upstreams()
    ports = [await upstreams.start("one"), await upstreams.start("two")]
    certs = {host: self_signed(host, hosts=[host]) for host in ("a.test", "b.test")}
    ca_files = {}
    for host, (cert, _key) in certs.items():
        ca_files[host] = tmp_path / f"{host}.pem"
        ca_files[host].write_bytes(cert)
    proxy = IngressProxy(address="127.0.0.1", http_port=0, https_port=0,
                         default_certificate=default_context())
    await proxy.start()
    proxy.update(build_snapshot(**objects(ports, certs), contexts=ContextCache(),
                                default_certificate=proxy.snapshot.certificates.default))
    try:
        yield proxy, upstreams, ca_files
    finally:
        upstreams.release.set()
        await proxy.stop()
        for runner in upstreams.runners:
            await runner.cleanup()


async def test_routing_round_robin_keepalive_and_forwarded_headers(setup: Any) -> None:
    proxy, _upstreams, _ = setup
    url = f"http://127.0.0.1:{proxy.http_port}"
    async with aiohttp.ClientSession() as session:
        names = []
        for _ in range(4):
            async with session.get(f"{url}/x?q=1", headers={"Host": "plain.test",
                                                            "X-Forwarded-For": "6.6.6.6"}) as r:
                assert r.status == 200
                body = await r.json()
                names.append(body["name"])
        assert sorted(names) == ["one", "one", "two", "two"]
        assert body["path"] == "/x"
        assert body["headers"]["X-Forwarded-For"] == "127.0.0.1"
        assert body["headers"]["X-Forwarded-Proto"] == "http"
        assert body["headers"]["X-Forwarded-Host"] == "plain.test"
        async with session.post(f"{url}/echo", data=b"z" * 100_000,
                                headers={"Host": "plain.test"}) as r:
            assert await r.read() == b"z" * 100_000
        async with session.get(f"{url}/down", headers={"Host": "plain.test"}) as r:
            assert r.status == 503
        async with session.get(f"{url}/", headers={"Host": "nowhere.test"}) as r:
            assert r.status == 404


async def test_plain_http_to_a_tls_host_is_redirected(setup: Any) -> None:
    proxy, _, _ = setup
    async with aiohttp.ClientSession() as session, session.get(
            f"http://127.0.0.1:{proxy.http_port}/p?x=1", headers={"Host": "a.test"},
            allow_redirects=False) as response:
        assert response.status == 308
        assert response.headers["Location"] == f"https://a.test:{proxy.https_port}/p?x=1"


async def https_get(port: int, host: str, ca_file: Path) -> tuple[str, Object]:
    context = ssl.create_default_context(cafile=str(ca_file))
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context,
                                                   server_hostname=host)
    try:
        subject = dict(x[0] for x in writer.get_extra_info("peercert")["subject"])
        writer.write(f"GET /t HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        response = await reader.read()
    finally:
        writer.close()
    return str(subject["commonName"]), json.loads(response.partition(b"\r\n\r\n")[2])


async def test_tls_by_sni_for_two_hosts(setup: Any) -> None:
    proxy, _, ca_files = setup
    for host in ("a.test", "b.test"):
        name, body = await https_get(proxy.https_port, host, ca_files[host])
        assert name == host
        assert body["headers"]["X-Forwarded-Proto"] == "https"
    with pytest.raises(ssl.SSLCertVerificationError):
        await https_get(proxy.https_port, "other.test", ca_files["a.test"])


async def test_streamed_response_arrives_chunk_by_chunk(setup: Any) -> None:
    proxy, upstreams, _ = setup
    async with aiohttp.ClientSession() as session, session.get(
            f"http://127.0.0.1:{proxy.http_port}/stream", headers={"Host": "plain.test"}) as r:
        assert r.headers["Transfer-Encoding"] == "chunked"
        assert await r.content.readline() == b"first\n"
        upstreams.release.set()
        assert await r.content.readline() == b"second\n"


async def test_websocket_is_tunnelled(setup: Any) -> None:
    proxy, _, _ = setup
    async with aiohttp.ClientSession() as session, session.ws_connect(
            f"http://127.0.0.1:{proxy.http_port}/ws", headers={"Host": "plain.test"}) as ws:
        await ws.send_str("hi")
        reply = await ws.receive_str()
        assert reply in ("one:hi", "two:hi")


async def test_bad_request_gets_400(setup: Any) -> None:
    proxy, _, _ = setup
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.http_port)
    writer.write(b"GET / HTTP/1.1\r\nHost: plain.test\r\nContent-Length: x\r\n\r\n")
    response = await reader.read()
    writer.close()
    assert response.startswith(b"HTTP/1.1 400 ")


async def test_reload_keeps_requests_in_flight_and_applies_to_the_next(setup: Any) -> None:
    proxy, upstreams, _ = setup
    url = f"http://127.0.0.1:{proxy.http_port}"
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{url}/stream", headers={"Host": "plain.test"}) as stream:
            assert await stream.content.readline() == b"first\n"
            moved = objects(upstreams.ports, {})
            moved["ingresses"][0]["spec"]["rules"][2]["host"] = "moved.test"
            proxy.update(build_snapshot(**moved, contexts=ContextCache(),
                                        default_certificate=proxy.snapshot.certificates.default))
            upstreams.release.set()
            assert await stream.content.readline() == b"second\n"
        async with session.get(f"{url}/", headers={"Host": "plain.test"}) as gone:
            assert gone.status == 404
        async with session.get(f"{url}/", headers={"Host": "moved.test"}) as moved_route:
            assert moved_route.status == 200


async def test_http10_client_gets_a_streamed_body_without_chunks(setup: Any) -> None:
    proxy, upstreams, _ = setup
    upstreams.release.set()
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.http_port)
    writer.write(b"GET /stream HTTP/1.0\r\nHost: plain.test\r\n\r\n")
    response = await reader.read()
    writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding" not in head and b"Connection: close" in head
    assert body == b"first\nsecond\n"


async def test_pipelined_requests_with_a_chunked_body_are_answered_in_order(setup: Any) -> None:
    proxy, _, _ = setup
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.http_port)
    writer.write(b"POST /echo HTTP/1.1\r\nHost: plain.test\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
                 b"GET /second HTTP/1.1\r\nHost: plain.test\r\nConnection: close\r\n\r\n")
    response = await reader.read()
    writer.close()
    first, _, rest = response.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 200") and rest.startswith(b"abcde")
    second = json.loads(rest[5:].partition(b"\r\n\r\n")[2])
    assert second["path"] == "/second"


async def test_unreachable_endpoints_get_502(setup: Any) -> None:
    proxy, _, _ = setup
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]  # nothing listens here once the probe closes
    broken = objects([closed_port], {})
    proxy.update(build_snapshot(**broken, contexts=ContextCache(),
                                default_certificate=proxy.snapshot.certificates.default))
    async with aiohttp.ClientSession() as session, session.get(
            f"http://127.0.0.1:{proxy.http_port}/", headers={"Host": "plain.test"}) as r:
        assert r.status == 502
