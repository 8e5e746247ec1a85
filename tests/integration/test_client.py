"""steersman.client against a real ``steersman server`` process.

One server per module (HTTPS, admin kubeconfig); each test works in its own namespace.
Covers the REST verbs and their error mapping, watch, informers (convergence, indexes,
recovery from 410) and Lease-based leader election (one leader, takeover after a kill,
hand-over on release, stepping down when renewals fail).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from steersman.api.errors import StatusError
from steersman.apiserver.watchcache import HISTORY_CAPACITY
from steersman.client import (
    CONFIGMAPS,
    DEPLOYMENTS,
    EVENTS,
    LEASES,
    NAMESPACES,
    NODE_NAME_INDEX,
    PODS,
    Client,
    Informer,
    LeaderElector,
    PatchType,
    Resource,
    by_node_name,
    load_kubeconfig,
)
from steersman.client.informer import EventStream
from tests.e2e.harness import ServerProcess, start_server

Object = dict[str, Any]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_server(tmp_path_factory.mktemp("client-server"))
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
async def client(server: ServerProcess) -> AsyncIterator[Client]:
    async with Client(load_kubeconfig(server.kubeconfig), qps=5000, burst=5000) as api:
        yield api


@pytest.fixture
async def namespace(client: Client) -> str:
    name = f"t-{uuid.uuid4().hex[:8]}"
    await client.create(NAMESPACES, {"metadata": {"name": name}})
    return name


def configmap(name: str, namespace: str, **data: str) -> Object:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace}, "data": data}


def deployment(name: str, namespace: str) -> Object:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                         {"name": "web", "image": "nginx:1", "env": [{"name": "A", "value": "1"}]},
                         {"name": "side", "image": "busybox"}]}}}}


async def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


# --- REST verbs ---------------------------------------------------------------------------


async def test_crud_and_error_mapping(client: Client, namespace: str) -> None:
    created = await client.create(CONFIGMAPS, configmap("a", namespace, k="1"))
    assert (await client.get(CONFIGMAPS, "a", namespace=namespace))["data"] == {"k": "1"}
    updated = await client.update(CONFIGMAPS, {**created, "data": {"k": "2"}})
    assert int(updated["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    with pytest.raises(StatusError) as stale:
        await client.update(CONFIGMAPS, {**created, "data": {"k": "3"}})
    assert (stale.value.code, stale.value.reason) == (409, "Conflict")
    with pytest.raises(StatusError) as duplicate:
        await client.create(CONFIGMAPS, configmap("a", namespace))
    assert (duplicate.value.code, duplicate.value.reason) == (409, "AlreadyExists")
    await client.delete(CONFIGMAPS, "a", namespace=namespace)
    with pytest.raises(StatusError) as missing:
        await client.get(CONFIGMAPS, "a", namespace=namespace)
    assert (missing.value.code, missing.value.reason) == (404, "NotFound")
    assert missing.value.details["name"] == "a"


async def test_patch_types(client: Client, namespace: str) -> None:
    await client.create(CONFIGMAPS, configmap("p", namespace, a="1"))
    merged = await client.patch(CONFIGMAPS, "p", {"data": {"b": "2"}}, namespace=namespace)
    assert merged["data"] == {"a": "1", "b": "2"}
    patched = await client.patch(CONFIGMAPS, "p", [{"op": "remove", "path": "/data/a"}],
                                 namespace=namespace, patch_type=PatchType.JSON)
    assert patched["data"] == {"b": "2"}
    applied = await client.patch(CONFIGMAPS, "p", configmap("p", namespace, c="3"),
                                 namespace=namespace, patch_type=PatchType.APPLY,
                                 field_manager="tests", force=True)
    assert applied["data"]["c"] == "3"
    await client.create(DEPLOYMENTS, deployment("d", namespace))
    strategic = {"spec": {"template": {"spec": {"containers": [
        {"name": "web", "image": "nginx:2"}]}}}}
    result = await client.patch(DEPLOYMENTS, "d", strategic, namespace=namespace,
                                patch_type=PatchType.STRATEGIC)
    containers = result["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"]) for c in containers] == [("web", "nginx:2"),
                                                             ("side", "busybox")]
    assert containers[0]["env"] == [{"name": "A", "value": "1"}]


async def test_update_status_writes_only_status(client: Client, namespace: str) -> None:
    created = await client.create(DEPLOYMENTS, deployment("s", namespace))
    changed = {**created, "spec": {**created["spec"], "replicas": 5},
               "status": {"observedGeneration": 1, "replicas": 1}}
    result = await client.update_status(DEPLOYMENTS, changed)
    assert result["status"]["replicas"] == 1
    assert result["spec"]["replicas"] == 1


async def test_paginated_list_and_delete_collection(client: Client, namespace: str) -> None:
    for n in range(5):
        await client.create(CONFIGMAPS, configmap(f"c{n}", namespace))
    page = await client.list(CONFIGMAPS, namespace=namespace, limit=2)
    assert len(page["items"]) == 2 and page["metadata"]["continue"]
    everything = await client.list_all(CONFIGMAPS, namespace=namespace, page_size=2)
    assert sorted(i["metadata"]["name"] for i in everything["items"]) == [
        f"c{n}" for n in range(5)]
    await client.delete_collection(CONFIGMAPS, namespace=namespace)
    assert (await client.list(CONFIGMAPS, namespace=namespace))["items"] == []


async def test_create_event(client: Client, namespace: str) -> None:
    subject = await client.create(CONFIGMAPS, configmap("e", namespace))
    event = await client.create_event(subject, reason="Tested", message="hello",
                                      component="tests")
    assert event["involvedObject"]["uid"] == subject["metadata"]["uid"]
    listed = await client.list(EVENTS, namespace=namespace)
    assert [e["reason"] for e in listed["items"]] == ["Tested"]


async def test_watch_from_a_list_revision(client: Client, namespace: str) -> None:
    listed = await client.list(CONFIGMAPS, namespace=namespace)
    revision = listed["metadata"]["resourceVersion"]
    created = await client.create(CONFIGMAPS, configmap("w", namespace))
    await client.patch(CONFIGMAPS, "w", {"data": {"x": "1"}}, namespace=namespace)
    await client.delete(CONFIGMAPS, "w", namespace=namespace)
    seen = []
    async with client.watch(CONFIGMAPS, namespace=namespace, resource_version=revision,
                            timeout_seconds=5) as stream:
        async for kind, obj in stream:
            seen.append((kind, obj["metadata"]["name"]))
            if kind == "DELETED":
                break
    assert seen == [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]
    assert int(stream.resource_version) > int(created["metadata"]["resourceVersion"])


# --- informers ----------------------------------------------------------------------------


def names(objects: list[Object]) -> set[str]:
    return {o["metadata"]["name"] for o in objects}


async def test_informer_converges_after_a_burst(client: Client, namespace: str) -> None:
    informer = Informer(client, CONFIGMAPS, namespace=namespace,
                        indexers={"color": lambda o: [o.get("data", {}).get("color", "")]})
    task = asyncio.create_task(informer.run())
    try:
        await asyncio.wait_for(informer.wait_synced(), 10)
        await asyncio.gather(*(client.create(CONFIGMAPS, configmap(f"b{n}", namespace,
                                                                   color="red"))
                               for n in range(40)))
        await asyncio.gather(*(client.patch(CONFIGMAPS, f"b{n}", {"data": {"color": "blue"}},
                                            namespace=namespace) for n in range(10)))
        await asyncio.gather(*(client.delete(CONFIGMAPS, f"b{n}", namespace=namespace)
                               for n in range(30, 40)))
        listed = await client.list(CONFIGMAPS, namespace=namespace)
        expected = {o["metadata"]["name"]: o["metadata"]["resourceVersion"]
                    for o in listed["items"]}
        await eventually(lambda: {o["metadata"]["name"]: o["metadata"]["resourceVersion"]
                                  for o in informer.indexer.list()} == expected)
        assert len(informer.indexer.by_index("color", "blue")) == 10
        assert len(informer.indexer.by_index("color", "red")) == 20
        assert len(informer.indexer.by_index("namespace", namespace)) == 30
    finally:
        task.cancel()


async def test_informer_indexes_pods_by_node(client: Client, namespace: str) -> None:
    def pod(name: str, node: str) -> Object:
        return {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]}}

    for name, node in (("p1", "n1"), ("p2", "n2"), ("p3", "n1")):
        await client.create(PODS, pod(name, node))
    informer = Informer(client, PODS, namespace=namespace,
                        indexers={NODE_NAME_INDEX: by_node_name})
    task = asyncio.create_task(informer.run())
    try:
        await asyncio.wait_for(informer.wait_synced(), 10)
        assert names(informer.indexer.by_index(NODE_NAME_INDEX, "n1")) == {"p1", "p3"}
        assert informer.indexer.get(f"{namespace}/p2") is not None
    finally:
        task.cancel()


class GatedWatches:
    """The real client, but new watches wait while the gate is closed (a partition)."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.gate = asyncio.Event()
        self.gate.set()
        self.list_all = client.list_all

    def watch(self, resource: Resource, **options: Any) -> EventStream:
        stream = self.client.watch(resource, **options)
        gate = self.gate

        class Gated:
            resource_version = stream.resource_version

            async def __aenter__(self) -> EventStream:
                await gate.wait()
                return await stream.__aenter__()

            async def __aexit__(self, *exc: Any) -> None:
                await stream.__aexit__(*exc)

            def __aiter__(self) -> Any:
                return stream

        return Gated()


async def test_informer_relists_after_410_and_misses_nothing(
        client: Client, namespace: str) -> None:
    for name in ("keep", "change", "gone"):
        await client.create(CONFIGMAPS, configmap(name, namespace))
    gated = GatedWatches(client)
    informer = Informer(gated, CONFIGMAPS, namespace=namespace, watch_timeout=(1, 1))
    log: list[tuple[str, str]] = []
    informer.add_handlers(on_add=lambda o: log.append(("add", o["metadata"]["name"])),
                          on_update=lambda old, new: log.append(("update",
                                                                 new["metadata"]["name"])),
                          on_delete=lambda o: log.append(("delete", o["metadata"]["name"])))
    task = asyncio.create_task(informer.run())
    try:
        await asyncio.wait_for(informer.wait_synced(), 10)
        gated.gate.clear()
        await asyncio.sleep(1.5)  # the open watch times out; the next one waits at the gate
        log.clear()
        await client.patch(CONFIGMAPS, "change", {"data": {"v": "2"}}, namespace=namespace)
        await client.delete(CONFIGMAPS, "gone", namespace=namespace)
        await client.create(CONFIGMAPS, configmap("new", namespace))
        await churn(client, HISTORY_CAPACITY + 50)  # push those events out of the history
        gated.gate.set()
        await eventually(lambda: len(log) == 3, timeout=20)
        assert sorted(log) == [("add", "new"), ("delete", "gone"), ("update", "change")]
        assert names(informer.indexer.list()) == {"keep", "change", "new"}
    finally:
        task.cancel()


async def churn(client: Client, writes: int) -> None:
    scratch = f"churn-{uuid.uuid4().hex[:8]}"
    await client.create(NAMESPACES, {"metadata": {"name": scratch}})
    limit = asyncio.Semaphore(64)

    async def one(n: int) -> None:
        async with limit:
            await client.create(CONFIGMAPS, configmap(f"x{n}", scratch))

    await asyncio.gather(*(one(n) for n in range(writes)))


# --- leader election ----------------------------------------------------------------------


class Candidate:
    """One elector with its own client (as a separate process would have)."""

    def __init__(self, server: ServerProcess, identity: str, lease: str, namespace: str,
                 *, release_on_cancel: bool = True) -> None:
        self.identity = identity
        self.lease = lease
        self.client = Client(load_kubeconfig(server.kubeconfig))
        self.leading = asyncio.Event()
        self.stopped = asyncio.Event()
        self.elector = LeaderElector(
            self.client, name=lease, namespace=namespace, identity=identity,
            lease_duration=2, renew_deadline=1.5, retry_period=0.2,
            on_started_leading=self._lead, on_stopped_leading=self.stopped.set,
            release_on_cancel=release_on_cancel)
        self.task = asyncio.create_task(self.elector.run())

    async def _lead(self) -> None:
        self.leading.set()
        try:
            await asyncio.Event().wait()
        finally:
            self.leading.clear()

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.client.close()


@pytest.fixture
async def candidates(server: ServerProcess, namespace: str
                     ) -> AsyncIterator[Callable[..., Awaitable[tuple[Candidate, Candidate]]]]:
    started: list[Candidate] = []

    async def start(**options: bool) -> tuple[Candidate, Candidate]:
        lease = f"lease-{uuid.uuid4().hex[:6]}"
        first = Candidate(server, "one", lease, namespace, **options)
        second = Candidate(server, "two", lease, namespace, **options)
        started.extend((first, second))
        await asyncio.wait_for(_any_leading(first, second), 5)
        return (first, second) if first.leading.is_set() else (second, first)

    yield start
    for candidate in started:
        await candidate.stop()


async def _any_leading(*candidates: Candidate) -> None:
    await eventually(lambda: any(c.leading.is_set() for c in candidates))


async def lease_spec(client: Client, namespace: str, leader: Candidate) -> Object:
    lease = await client.get(LEASES, leader.lease, namespace=namespace)
    spec: Object = lease["spec"]
    return spec


async def test_exactly_one_candidate_leads(client: Client, namespace: str,
                                           candidates: Callable[..., Awaitable[Any]]) -> None:
    leader, standby = await candidates()
    for _ in range(10):
        await asyncio.sleep(0.1)
        assert leader.leading.is_set() and not standby.leading.is_set()
    spec = await lease_spec(client, namespace, leader)
    assert spec["holderIdentity"] == leader.identity
    assert spec["leaseDurationSeconds"] == 2 and spec["leaseTransitions"] == 0
    assert spec["renewTime"].endswith("Z") and len(spec["renewTime"]) == 27
    assert standby.elector.leader == leader.identity


async def test_standby_takes_over_after_the_lease_expires_when_the_leader_dies(
        client: Client, namespace: str, candidates: Callable[..., Awaitable[Any]]) -> None:
    leader, standby = await candidates(release_on_cancel=False)
    killed_at = time.monotonic()
    await leader.stop()
    await asyncio.wait_for(standby.leading.wait(), 5)
    waited = time.monotonic() - killed_at
    assert 1.5 <= waited <= 3.0, waited
    spec = await lease_spec(client, namespace, standby)
    assert (spec["holderIdentity"], spec["leaseTransitions"]) == (standby.identity, 1)


async def test_graceful_release_hands_over_at_once(
        client: Client, namespace: str, candidates: Callable[..., Awaitable[Any]]) -> None:
    leader, standby = await candidates()
    released_at = time.monotonic()
    await leader.stop()
    assert leader.stopped.is_set()
    await asyncio.wait_for(standby.leading.wait(), 5)
    assert time.monotonic() - released_at < 1.0


async def test_a_leader_that_cannot_renew_steps_down_before_expiry(
        client: Client, namespace: str, candidates: Callable[..., Awaitable[Any]]) -> None:
    leader, standby = await candidates()
    await leader.client.close()  # every renewal now fails
    await asyncio.wait_for(leader.stopped.wait(), 3)
    assert not leader.leading.is_set()
    assert not standby.leading.is_set()  # the old lease had not expired yet
    await asyncio.wait_for(standby.leading.wait(), 5)
