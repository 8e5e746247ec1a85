"""The in-process transport (``steersman.apiserver.local``) against the same server over HTTPS.

A control plane runs in the test's event loop (no controllers, no scheduler); one client
reaches it by function call, the other over HTTPS, and both must see the same API: the
same objects and Status errors, field managers from the User-Agent, watches with the same
events (selectors, resourceVersion, 410, bookmarks), and an informer that converges. The
local watch hands out the cache's own objects, frozen here, so changing one fails loudly.
"""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from steersman.api.errors import StatusError
from steersman.apiserver.local import LocalEndpoint
from steersman.client import (
    CONFIGMAPS,
    NAMESPACES,
    PODS,
    Client,
    Informer,
    Resource,
    load_kubeconfig,
)
from steersman.client.local import FrozenObjectError
from steersman.server.controlplane import ADMIN, ControlPlane, ServerConfig

Object = dict[str, Any]


@pytest.fixture
async def plane(tmp_path: Path) -> AsyncIterator[ControlPlane]:
    config = ServerConfig(data_dir=tmp_path / "data", port=0, controllers=(),
                          scheduler=False, leader_elect=False)
    control_plane = ControlPlane(config)
    await control_plane.start()
    try:
        yield control_plane
    finally:
        await control_plane.stop()


@pytest.fixture
async def clients(plane: ControlPlane) -> AsyncIterator[tuple[Client, Client]]:
    assert plane.api is not None
    config = load_kubeconfig(plane.config.kubeconfig_path)
    endpoint = LocalEndpoint(plane.api, ADMIN, freeze_watched=True)
    local = Client(config, qps=5000, burst=5000, user_agent="local-test/1.0", local=endpoint)
    remote = Client(config, qps=5000, burst=5000, user_agent="remote-test/1.0")
    try:
        yield local, remote
    finally:
        await local.close()
        await remote.close()


def configmap(name: str, namespace: str, **data: str) -> Object:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "labels": {"app": "x"}},
            "data": data}


async def status_of(call: Any) -> tuple[int, str]:
    with pytest.raises(StatusError) as caught:
        await call
    return caught.value.code, caught.value.reason


async def test_verbs_and_errors_match_https(clients: tuple[Client, Client]) -> None:
    local, remote = clients
    ns = f"t-{uuid.uuid4().hex[:6]}"
    await local.create(NAMESPACES, {"metadata": {"name": ns}})
    made = await local.create(CONFIGMAPS, configmap("a", ns, k="v"))
    fetched = await remote.get(CONFIGMAPS, "a", namespace=ns)
    assert made == fetched
    assert [m["manager"] for m in made["metadata"]["managedFields"]] == ["local-test"]

    stale = copy.deepcopy(made)
    made["data"]["k"] = "w"
    updated = await local.update(CONFIGMAPS, made)
    assert updated["data"] == {"k": "w"}
    for client in (local, remote):
        assert await status_of(client.update(CONFIGMAPS, stale)) == (409, "Conflict")
        assert await status_of(client.get(CONFIGMAPS, "nope", namespace=ns)) == (404, "NotFound")
        bad = configmap("Bad_Name", ns)
        assert await status_of(client.create(CONFIGMAPS, bad)) == (422, "Invalid")
        assert await status_of(client.create(CONFIGMAPS, configmap("a", ns))) == (
            409, "AlreadyExists")
    listed = await local.list(CONFIGMAPS, namespace=ns, label_selector="app=x")
    assert [item["metadata"]["name"] for item in listed["items"]] == ["a"]
    deleted = await local.delete(CONFIGMAPS, "a", namespace=ns)
    assert (deleted["kind"], deleted["status"]) == ("Status", "Success")


async def test_streams_that_need_a_connection_are_refused(
        clients: tuple[Client, Client]) -> None:
    local, _ = clients
    with pytest.raises(StatusError) as caught:
        await local.get(PODS, "p", namespace="default", subresource="log")
    assert caught.value.code == 400
    assert "needs a connection" in caught.value.message


async def collect(client: Client, ns: str, rv: str, count: int, **selection: str) -> list[
        tuple[str, str, str]]:
    seen: list[tuple[str, str, str]] = []
    async with client.watch(CONFIGMAPS, namespace=ns, resource_version=rv, **selection) as stream:
        async for kind, obj in stream:
            seen.append((kind, obj["metadata"]["name"], obj["data"].get("k", "")))
            if len(seen) == count:
                break
    return seen


async def test_watches_match_https(clients: tuple[Client, Client], plane: ControlPlane) -> None:
    local, remote = clients
    ns = f"t-{uuid.uuid4().hex[:6]}"
    await remote.create(NAMESPACES, {"metadata": {"name": ns}})
    await remote.create(CONFIGMAPS, configmap("before", ns, k="0"))
    rv = (await remote.list(CONFIGMAPS, namespace=ns))["metadata"]["resourceVersion"]
    watches = [asyncio.create_task(collect(c, ns, rv, 3)) for c in (local, remote)]
    selected = [asyncio.create_task(collect(c, ns, rv, 1, label_selector="pick=yes"))
                for c in (local, remote)]
    await asyncio.sleep(0.2)
    first = await remote.create(CONFIGMAPS, configmap("one", ns, k="1"))
    first["data"]["k"] = "2"
    await remote.update(CONFIGMAPS, first)
    await remote.delete(CONFIGMAPS, "one", namespace=ns)
    picked = configmap("two", ns, k="3")
    picked["metadata"]["labels"]["pick"] = "yes"
    await remote.create(CONFIGMAPS, picked)
    local_events, remote_events = await asyncio.wait_for(asyncio.gather(*watches), 10)
    assert local_events == remote_events == [
        ("ADDED", "one", "1"), ("MODIFIED", "one", "2"), ("DELETED", "one", "2")]
    local_picked, remote_picked = await asyncio.wait_for(asyncio.gather(*selected), 10)
    assert local_picked == remote_picked == [("ADDED", "two", "3")]
    # From "now" (no resourceVersion): the current objects first, as synthetic ADDED events.
    now = await collect(local, ns, "", 2)
    assert sorted(now) == [("ADDED", "before", "0"), ("ADDED", "two", "3")]
    assert plane.cache is not None
    cache = plane.cache.cache_for("/registry/configmaps/")
    await asyncio.sleep(0.1)  # closed local watches unsubscribe on the next loop turn
    assert not cache.watchers


async def test_watch_errors_match_https(clients: tuple[Client, Client]) -> None:
    for client in clients:
        for selection, code in (({"resource_version": "abc"}, 400),
                                ({"field_selector": "spec.nope=1"}, 400)):
            with pytest.raises(StatusError) as caught:
                async with client.watch(CONFIGMAPS, **selection) as stream:
                    async for _ in stream:
                        pass
            assert caught.value.code == code
        with pytest.raises(StatusError) as caught:
            async with client.watch(Resource("", "v1", "nothings", kind="Nothing")) as stream:
                async for _ in stream:
                    pass
        assert caught.value.code == 404


async def test_watched_objects_are_shared_and_read_only(clients: tuple[Client, Client]) -> None:
    local, remote = clients
    ns = f"t-{uuid.uuid4().hex[:6]}"
    await remote.create(NAMESPACES, {"metadata": {"name": ns}})
    await remote.create(CONFIGMAPS, configmap("c", ns, k="1"))
    async with local.watch(CONFIGMAPS, namespace=ns) as stream:
        _, obj = await anext(stream)
    with pytest.raises(FrozenObjectError):
        obj["data"]["k"] = "changed"
    with pytest.raises(FrozenObjectError):
        obj["metadata"].setdefault("labels", {})["x"] = "y"
    copied = copy.deepcopy(obj)
    copied["data"]["k"] = "changed"  # a copy is plain and free to change
    assert obj["data"]["k"] == "1"
    assert (await remote.get(CONFIGMAPS, "c", namespace=ns))["data"] == {"k": "1"}


async def test_informer_through_the_local_transport(clients: tuple[Client, Client]) -> None:
    local, remote = clients
    ns = f"t-{uuid.uuid4().hex[:6]}"
    await remote.create(NAMESPACES, {"metadata": {"name": ns}})
    await remote.create(CONFIGMAPS, configmap("x", ns, k="1"))
    informer = Informer(local, CONFIGMAPS, namespace=ns)
    added: list[str] = []
    informer.add_handlers(on_add=lambda obj: added.append(obj["metadata"]["name"]))
    task = asyncio.create_task(informer.run())
    try:
        await asyncio.wait_for(informer.wait_synced(), 10)
        await remote.create(CONFIGMAPS, configmap("y", ns, k="2"))
        for _ in range(100):
            if "y" in added:
                break
            await asyncio.sleep(0.05)
        assert sorted(added) == ["x", "y"]
        assert informer.indexer.get(f"{ns}/y") is not None
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
