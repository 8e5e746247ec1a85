"""ServiceProxy in virtual time: coalesced syncs, one Warning per failure, retries."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from steersman.client import ENDPOINTSLICES, SERVICES, FakeClock, Resource
from steersman.proxy.backend import BindFailure
from steersman.proxy.model import Frontend, ProxyTable
from steersman.proxy.service_proxy import BIND_FAILED_REASON, ServiceProxy
from tests.unit.proxy.fixtures import endpoint, endpoint_slice, service

Object = dict[str, Any]


class FakeStream:
    """A watch that yields what the test puts in its queue."""

    def __init__(self, queue: asyncio.Queue[tuple[str, Object]]) -> None:
        self.queue = queue
        self.resource_version = "1"

    async def __aenter__(self) -> FakeStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def __aiter__(self) -> AsyncIterator[tuple[str, Object]]:
        return self._events()

    async def _events(self) -> AsyncIterator[tuple[str, Object]]:
        while True:
            kind, obj = await self.queue.get()
            self.resource_version = obj["metadata"]["resourceVersion"]
            yield kind, obj


class FakeAPI:
    def __init__(self, services: list[Object], slices: list[Object]) -> None:
        self.items = {SERVICES.plural: services, ENDPOINTSLICES.plural: slices}
        self.queues: dict[str, asyncio.Queue[tuple[str, Object]]] = {
            SERVICES.plural: asyncio.Queue(), ENDPOINTSLICES.plural: asyncio.Queue()}
        self.events: list[tuple[str, str, str]] = []

    async def list_all(self, resource: Resource, **_: Any) -> Object:
        return {"items": self.items[resource.plural], "metadata": {"resourceVersion": "1"}}

    def watch(self, resource: Resource, **_: Any) -> FakeStream:
        return FakeStream(self.queues[resource.plural])

    async def create_event(self, regarding: Object, *, reason: str, message: str,
                           type: str = "Normal", **_: Any) -> Object:
        self.events.append((regarding["metadata"]["name"], type, f"{reason}: {message}"))
        return {}

    def put(self, resource: Resource, kind: str, obj: Object, revision: int) -> None:
        obj["metadata"]["resourceVersion"] = str(revision)
        self.queues[resource.plural].put_nowait((kind, obj))


class RecordingBackend:
    name = "recording"

    def __init__(self) -> None:
        self.tables: list[ProxyTable] = []
        self.failing: set[Frontend] = set()
        self.closed = False

    async def sync(self, table: ProxyTable) -> list[BindFailure]:
        self.tables.append(table)
        return [BindFailure(f, r.service, "Address already in use", "free it")
                for f, r in table.routes.items() if f in self.failing]

    async def close(self) -> None:
        self.closed = True


async def settle() -> None:
    for _ in range(50):
        await asyncio.sleep(0)


@contextlib.asynccontextmanager
async def running(api: FakeAPI, backend: RecordingBackend,
                  clock: FakeClock) -> AsyncIterator[ServiceProxy]:
    proxy = ServiceProxy(api, node_name="n1", node_ip="127.42.1.1",  # type: ignore[arg-type]
                         backend=backend, clock=clock, min_sync_period=0.05, retry_period=5)
    task = asyncio.create_task(proxy.run())
    try:
        await settle()
        yield proxy
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


WEB = Frontend("TCP", "127.43.0.5", 80)


async def test_a_burst_of_changes_is_one_sync_of_the_latest_state() -> None:
    clock, backend = FakeClock(), RecordingBackend()
    api = FakeAPI([service("web")], [endpoint_slice("web", endpoint("127.42.1.2"))])
    async with running(api, backend, clock):
        clock.advance(0.05)
        await settle()
        assert len(backend.tables) == 1
        assert [e.ip for e in backend.tables[0].routes[WEB].endpoints] == ["127.42.1.2"]
        for revision, ip in enumerate(("127.42.1.3", "127.42.1.4", "127.42.1.5"), start=2):
            api.put(ENDPOINTSLICES, "MODIFIED", endpoint_slice("web", endpoint(ip)), revision)
        await settle()
        assert len(backend.tables) == 1  # waiting out the minimum sync period
        clock.advance(0.05)
        await settle()
        assert len(backend.tables) == 2
        assert [e.ip for e in backend.tables[1].routes[WEB].endpoints] == ["127.42.1.5"]
    assert backend.closed


async def test_a_failure_is_reported_once_and_retried_until_it_clears() -> None:
    clock, backend = FakeClock(), RecordingBackend()
    backend.failing.add(WEB)
    api = FakeAPI([service("web")], [endpoint_slice("web", endpoint("127.42.1.2"))])
    async with running(api, backend, clock):
        clock.advance(0.05)
        await settle()
        assert [(name, kind) for name, kind, _ in api.events] == [("web", "Warning")]
        assert api.events[0][2].startswith(f"{BIND_FAILED_REASON}: node n1 cannot serve "
                                           f"{WEB} for service port ns/web:http")
        clock.advance(5)
        await settle()
        clock.advance(0.05)
        await settle()
        assert len(backend.tables) == 2 and len(api.events) == 1  # retried, not re-reported
        backend.failing.clear()
        clock.advance(5.05)
        await settle()
        clock.advance(0.05)
        await settle()
        syncs = len(backend.tables)
        clock.advance(60)
        await settle()
        assert len(backend.tables) == syncs  # nothing failing: no more retries
