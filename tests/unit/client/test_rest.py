"""The REST client against a scripted aiohttp server: paths, errors, retries, watch decoding."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from steersman.api.errors import StatusError
from steersman.client import (
    CONFIGMAPS,
    DEPLOYMENTS,
    NAMESPACES,
    NODES,
    Client,
    ClientConfig,
    ResourceExpired,
    RetryPolicy,
    ServerUnreachable,
)
from steersman.client.errors import status_error

FAST_RETRIES = RetryPolicy(max_retries=3, base_delay=0.001, max_delay=0.01)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.mark.parametrize(("resource", "kwargs", "path"), [
    (CONFIGMAPS, {}, "/api/v1/configmaps"),
    (CONFIGMAPS, {"namespace": "ns", "name": "a b"}, "/api/v1/namespaces/ns/configmaps/a%20b"),
    (DEPLOYMENTS, {"namespace": "ns", "name": "d", "subresource": "status"},
     "/apis/apps/v1/namespaces/ns/deployments/d/status"),
    (NODES, {"namespace": "ignored", "name": "n1"}, "/api/v1/nodes/n1"),
])
def test_resource_paths(resource: object, kwargs: dict[str, str], path: str) -> None:
    assert resource.path(**kwargs) == path  # type: ignore[attr-defined]


def test_status_bodies_become_status_errors() -> None:
    body = orjson.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                         "message": 'pods "x" not found', "reason": "NotFound", "code": 404,
                         "details": {"name": "x", "kind": "pods"}})
    error = status_error(404, body)
    assert (error.code, error.reason, error.message, error.details["name"]) == (
        404, "NotFound", 'pods "x" not found', "x")
    plain = status_error(503, b"upstream down")
    assert (plain.code, plain.reason, plain.message) == (503, "ServiceUnavailable",
                                                         "upstream down")
    assert isinstance(status_error(410, b""), ResourceExpired)


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[Client]]]:
    servers: list[TestServer] = []
    clients: list[Client] = []

    async def start(handler: Handler) -> Client:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        client = Client(ClientConfig(server=str(server.make_url("")).rstrip("/")),
                        retry=FAST_RETRIES)
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.close()
    for server in servers:
        await server.close()


async def test_429_with_retry_after_is_retried(serve: Callable[[Handler], Awaitable[Client]]
                                               ) -> None:
    calls = 0

    async def handler(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        if calls < 3:
            return web.json_response({"kind": "Status", "code": 429}, status=429,
                                     headers={"Retry-After": "0"})
        return web.json_response({"kind": "ConfigMap", "metadata": {"name": "a"}})

    client = await serve(handler)
    assert (await client.get(CONFIGMAPS, "a", namespace="ns"))["metadata"]["name"] == "a"
    assert calls == 3


async def test_5xx_without_retry_after_is_not_retried(
        serve: Callable[[Handler], Awaitable[Client]]) -> None:
    calls = 0

    async def handler(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        return web.Response(status=500, text="boom")

    client = await serve(handler)
    with pytest.raises(StatusError) as caught:
        await client.create(CONFIGMAPS, {"metadata": {"name": "a", "namespace": "ns"}})
    assert (caught.value.code, caught.value.reason, calls) == (500, "InternalError", 1)


async def test_an_unreachable_server_raises_after_the_retries() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with Client(ClientConfig(server=f"http://127.0.0.1:{port}"),
                      retry=FAST_RETRIES) as client:
        with pytest.raises(ServerUnreachable):
            await client.list(CONFIGMAPS)


async def test_namespaced_writes_need_a_namespace(
        serve: Callable[[Handler], Awaitable[Client]]) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response({})

    client = await serve(handler)
    with pytest.raises(ValueError, match="namespaced"):
        await client.create(CONFIGMAPS, {"metadata": {"name": "a"}})


async def test_watch_decodes_split_lines_bookmarks_and_errors(
        serve: Callable[[Handler], Awaitable[Client]]) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        assert request.query["allowWatchBookmarks"] == "true"
        response = web.StreamResponse()
        await response.prepare(request)
        added = orjson.dumps({"type": "ADDED", "object": {"metadata": {
            "name": "a", "resourceVersion": "5"}}}) + b"\n"
        await response.write(added[:10])
        await response.write(added[10:])
        await response.write(orjson.dumps({"type": "BOOKMARK", "object": {"metadata": {
            "resourceVersion": "8"}}}) + b"\n")
        await response.write(orjson.dumps({"type": "ERROR", "object": {
            "kind": "Status", "code": 410, "reason": "Expired", "message": "too old"}}) + b"\n")
        return response

    client = await serve(handler)
    seen = []
    with pytest.raises(ResourceExpired, match="too old"):
        async with client.watch(CONFIGMAPS, resource_version="4") as stream:
            async for kind, obj in stream:
                seen.append((kind, obj["metadata"]["name"]))
    assert seen == [("ADDED", "a")]
    assert stream.resource_version == "8"


async def test_get_path_and_subresource_updates(
        serve: Callable[[Handler], Awaitable[Client]]) -> None:
    seen: list[tuple[str, str]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append((request.method, request.path))
        return web.json_response({"kind": "APIGroupList", "groups": []})

    client = await serve(handler)
    assert await client.get_path("/apis") == {"kind": "APIGroupList", "groups": []}
    await client.update(NAMESPACES, {"metadata": {"name": "ns"}}, subresource="finalize")
    assert seen == [("GET", "/apis"), ("PUT", "/api/v1/namespaces/ns/finalize")]
