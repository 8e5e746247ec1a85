"""ZoneSync: informers on Services, EndpointSlices and Pods keep the zone current.

Driven through real :class:`~steersman.client.Informer`\\ s over a scripted list + watch.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

import pytest

from steersman.client import Resource
from steersman.dns.sync import ZoneSync
from steersman.dns.zone import Zone
from tests.unit.dns.fixtures import endpoint, endpoint_slice, pod, service

Object = dict[str, Any]
DB = "db.default.svc.cluster.local"


class _Stream:
    def __init__(self, queue: asyncio.Queue[tuple[str, Object]]) -> None:
        self._queue = queue
        self.resource_version = "1"

    async def __aenter__(self) -> _Stream:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        return None

    def __aiter__(self) -> AsyncIterator[tuple[str, Object]]:
        return self._events()

    async def _events(self) -> AsyncIterator[tuple[str, Object]]:
        while True:
            kind, obj = await self._queue.get()
            self.resource_version = obj["metadata"]["resourceVersion"]
            yield kind, obj
            self._queue.task_done()  # the informer asks for more once it has applied this


class ScriptedApi:
    """Lists what ``initial`` holds, then streams what tests :meth:`send`."""

    def __init__(self, initial: dict[str, list[Object]]) -> None:
        self._initial = initial
        self._queues: dict[str, asyncio.Queue[tuple[str, Object]]] = {}
        self._revision = 1

    def _queue(self, plural: str) -> asyncio.Queue[tuple[str, Object]]:
        return self._queues.setdefault(plural, asyncio.Queue())

    async def list_all(self, resource: Resource, **_: Any) -> Object:
        return {"metadata": {"resourceVersion": "1"},
                "items": list(self._initial.get(resource.plural, []))}

    def watch(self, resource: Resource, **_: Any) -> _Stream:
        return _Stream(self._queue(resource.plural))

    async def send(self, plural: str, kind: str, obj: Object) -> None:
        self._revision += 1
        obj = {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(self._revision)}}
        queue = self._queue(plural)
        await queue.put((kind, obj))
        await asyncio.wait_for(queue.join(), 5)


@pytest.fixture
async def running() -> AsyncIterator[tuple[ScriptedApi, Zone]]:
    api = ScriptedApi({"services": [service("db", cluster_ip="None")],
                       "endpointslices": [endpoint_slice("db", [endpoint("127.42.0.5")])],
                       "pods": [pod("p", "127.42.0.5")]})
    zone = Zone("cluster.local")
    sync = ZoneSync(api, zone)
    task = asyncio.create_task(sync.run())
    await asyncio.wait_for(sync.wait_synced(), 5)
    try:
        yield api, zone
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_the_first_lists_fill_the_zone(running: tuple[ScriptedApi, Zone]) -> None:
    _, zone = running
    assert DB in zone and f"127-42-0-5.{DB}" in zone
    assert "127-42-0-5.default.pod.cluster.local" in zone


async def test_slice_changes_move_the_endpoints(running: tuple[ScriptedApi, Zone]) -> None:
    api, zone = running
    await api.send("endpointslices", "MODIFIED",
                   endpoint_slice("db", [endpoint("127.42.0.6", hostname="db-0")]))
    assert f"db-0.{DB}" in zone and f"127-42-0-5.{DB}" not in zone
    await api.send("endpointslices", "DELETED", endpoint_slice("db", []))
    assert DB in zone and f"db-0.{DB}" not in zone


async def test_a_slice_relabelled_to_another_service_leaves_the_first(
        running: tuple[ScriptedApi, Zone]) -> None:
    api, zone = running
    await api.send("services", "ADDED", service("other", cluster_ip="None"))
    await api.send("endpointslices", "MODIFIED",
                   endpoint_slice("other", [endpoint("127.42.0.5")], name="db-abc"))
    assert f"127-42-0-5.{DB}" not in zone
    assert "127-42-0-5.other.default.svc.cluster.local" in zone


async def test_services_and_pods_come_and_go(running: tuple[ScriptedApi, Zone]) -> None:
    api, zone = running
    await api.send("services", "ADDED", service("web", namespace="shop"))
    assert "web.shop.svc.cluster.local" in zone
    await api.send("services", "DELETED", service("web", namespace="shop"))
    assert "web.shop.svc.cluster.local" not in zone and "shop.svc.cluster.local" not in zone
    await api.send("pods", "MODIFIED", pod("p", "127.42.0.5", phase="Succeeded"))
    assert "127-42-0-5.default.pod.cluster.local" not in zone
    await api.send("pods", "ADDED", pod("q", "127.42.0.8"))
    await api.send("pods", "DELETED", pod("q", "127.42.0.8"))
    assert "127-42-0-8.default.pod.cluster.local" not in zone
