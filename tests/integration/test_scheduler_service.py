"""The scheduler's API side against a real ``steersman server`` process.

The server runs with ``--no-scheduler``; the tests drive :class:`ClientBinder`,
:class:`ClientEventRecorder` and a whole :class:`SchedulerService` (no leader election)
from this process, on Node objects they create themselves (nobody runs them). Also covers
priority admission: ``spec.priority`` from the pod's PriorityClass, the built-in system
classes, and ``globalDefault``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from steersman.api.errors import StatusError
from steersman.client import (
    EVENTS,
    NAMESPACES,
    NODES,
    PODS,
    PRIORITYCLASSES,
    Client,
    load_kubeconfig,
)
from steersman.scheduler.binder import ClientBinder
from steersman.scheduler.recorder import ClientEventRecorder
from steersman.scheduler.service import SchedulerService, scheduler_election
from tests.e2e.harness import ServerProcess, start_server

Object = dict[str, Any]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_server(tmp_path_factory.mktemp("scheduler-server"), "--no-scheduler")
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


def pod(name: str, *, cpu: str = "100m", **spec: Any) -> Object:
    container = {"name": "c", "image": "pause:3.9", "resources": {"requests": {"cpu": cpu}}}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [container], **spec}}


def node(name: str, *, cpu: str = "2", labels: dict[str, str] | None = None) -> Object:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name,
                         "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
            "status": {"capacity": {"cpu": cpu, "memory": "8Gi", "pods": "110"},
                       "allocatable": {"cpu": cpu, "memory": "8Gi", "pods": "110"},
                       "conditions": [{"type": "Ready", "status": "True"}]}}


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.1)


def scheduled_condition(obj: Object) -> Object:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return next(c for c in conditions if c["type"] == "PodScheduled")


async def events_about(client: Client, namespace: str, name: str) -> list[Object]:
    listed = await client.list(EVENTS, namespace=namespace,
                               field_selector=f"involvedObject.name={name}")
    return list(listed["items"])


# ClientBinder ---------------------------------------------------------------------------

async def test_bind_assigns_the_node_and_a_second_bind_conflicts(
        client: Client, namespace: str) -> None:
    created = await client.create(PODS, pod("web"), namespace=namespace)
    binder = ClientBinder(client)
    await binder.bind(created, "node-a")
    bound = await client.get(PODS, "web", namespace=namespace)
    assert bound["spec"]["nodeName"] == "node-a"
    assert scheduled_condition(bound)["status"] == "True"
    with pytest.raises(StatusError) as conflict:
        await binder.bind(created, "node-b")
    assert conflict.value.code == 409


async def test_unschedulable_condition_is_written_once_per_message(
        client: Client, namespace: str) -> None:
    created = await client.create(PODS, pod("big"), namespace=namespace)
    latest: dict[str, Object] = {"pod": created}
    binder = ClientBinder(client, current_pod=lambda _key: latest["pod"])
    await binder.set_unschedulable(created, message="0/1 nodes are available: 1 Insufficient cpu.")
    first = latest["pod"] = await client.get(PODS, "big", namespace=namespace)
    condition = scheduled_condition(first)
    assert (condition["status"], condition["reason"]) == ("False", "Unschedulable")
    assert condition["message"] == "0/1 nodes are available: 1 Insufficient cpu."
    assert condition["lastTransitionTime"]

    await binder.set_unschedulable(created, message="0/1 nodes are available: 1 Insufficient cpu.")
    again = await client.get(PODS, "big", namespace=namespace)
    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]

    await binder.set_unschedulable(created, message="0/2 nodes are available: 2 Insufficient cpu.",
                                   nominated_node_name="node-x")
    changed = await client.get(PODS, "big", namespace=namespace)
    assert scheduled_condition(changed)["message"].startswith("0/2 nodes")
    assert scheduled_condition(changed)["lastTransitionTime"] == condition["lastTransitionTime"]
    assert changed["status"]["nominatedNodeName"] == "node-x"


async def test_victim_is_marked_then_deleted(client: Client, namespace: str) -> None:
    victim = await client.create(PODS, pod("low"), namespace=namespace)
    preemptor = await client.create(PODS, pod("high"), namespace=namespace)
    seen: list[tuple[str, Object]] = []
    listed = await client.list(PODS, namespace=namespace)

    async def watch() -> None:
        async with client.watch(PODS, namespace=namespace,
                                resource_version=listed["metadata"]["resourceVersion"]) as s:
            async for kind, obj in s:
                if obj["metadata"]["name"] == "low":
                    seen.append((kind, obj))
                    if kind == "DELETED":
                        return

    watcher = asyncio.create_task(watch())
    binder = ClientBinder(client)
    await binder.delete_victim(victim, preemptor=preemptor, node_name="node-a")
    await asyncio.wait_for(watcher, 10)
    target = next(c for c in seen[0][1]["status"]["conditions"] if c["type"] == "DisruptionTarget")
    assert (target["status"], target["reason"]) == ("True", "PreemptionByScheduler")
    assert f"{namespace}/high" in target["message"]
    assert seen[-1][0] == "DELETED"
    await binder.delete_victim(victim, preemptor=preemptor, node_name="node-a")  # gone: no error


# ClientEventRecorder --------------------------------------------------------------------

async def test_recorder_aggregates_repeats_into_one_event(client: Client, namespace: str) -> None:
    created = await client.create(PODS, pod("noisy"), namespace=namespace)
    recorder = ClientEventRecorder(client, component="default-scheduler")
    flusher = asyncio.create_task(recorder.run())
    try:
        for _ in range(3):
            recorder.event(created, "Warning", "FailedScheduling", "0/1 nodes are available.")
        await recorder.flush()
        recorder.event(created, "Warning", "FailedScheduling", "0/1 nodes are available.")
        recorder.event(created, "Normal", "Scheduled", "Successfully assigned it")
        await recorder.flush()
    finally:
        flusher.cancel()
    events = await events_about(client, namespace, "noisy")
    by_reason = {e["reason"]: e for e in events}
    assert len(events) == 2
    failed = by_reason["FailedScheduling"]
    assert failed["count"] == 4 and failed["type"] == "Warning"
    assert failed["lastTimestamp"] >= failed["firstTimestamp"]
    assert failed["source"]["component"] == "default-scheduler"
    assert failed["reportingComponent"] == "default-scheduler"
    assert failed["involvedObject"]["uid"] == created["metadata"]["uid"]
    assert failed["involvedObject"]["kind"] == "Pod"
    assert by_reason["Scheduled"]["count"] == 1


# SchedulerService -----------------------------------------------------------------------

@contextlib.asynccontextmanager
async def running_service(client: Client) -> AsyncIterator[SchedulerService]:
    service = SchedulerService(client, leader_election=scheduler_election(enabled=False))
    task = asyncio.create_task(service.run())
    try:
        await asyncio.wait_for(service.leading.wait(), 10)
        yield service
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_service_binds_pods_and_reports_unschedulable_ones(
        client: Client, namespace: str) -> None:
    names = [f"svc-{uuid.uuid4().hex[:6]}-{i}" for i in range(2)]
    for name in names:
        await client.create(NODES, node(name, labels={"disktype": "ssd"}))
    try:
        async with running_service(client):
            for i in range(6):
                await client.create(PODS, pod(f"p{i}", nodeSelector={"disktype": "ssd"}),
                                    namespace=namespace)
            await client.create(PODS, pod("huge", cpu="64"), namespace=namespace)

            async def all_bound() -> bool:
                listed = await client.list(PODS, namespace=namespace)
                return all(p["spec"].get("nodeName") in names
                           for p in listed["items"] if p["metadata"]["name"] != "huge")

            async def huge_reported() -> bool:
                events = await events_about(client, namespace, "huge")
                return any(e["reason"] == "FailedScheduling" for e in events)

            await eventually(all_bound)
            await eventually(huge_reported)
        huge = await client.get(PODS, "huge", namespace=namespace)
        assert "nodeName" not in huge["spec"]
        condition = scheduled_condition(huge)
        assert condition["reason"] == "Unschedulable"
        assert "Insufficient cpu" in condition["message"]
        scheduled = await events_about(client, namespace, "p0")
        assert any(e["reason"] == "Scheduled" for e in scheduled)
    finally:
        for name in names:
            await client.delete(NODES, name)


# Priority admission ---------------------------------------------------------------------

async def test_priority_comes_from_the_priority_class(client: Client, namespace: str) -> None:
    critical = await client.create(PODS, pod("critical", priorityClassName="system-node-critical"),
                                   namespace=namespace)
    assert critical["spec"]["priority"] == 2000001000
    cluster = await client.get(PRIORITYCLASSES, "system-cluster-critical")
    assert cluster["value"] == 2000000000
    with pytest.raises(StatusError) as missing:
        await client.create(PODS, pod("lost", priorityClassName="no-such-class"),
                            namespace=namespace)
    assert missing.value.code == 403
    assert "no PriorityClass with name no-such-class was found" in missing.value.message
    with pytest.raises(StatusError) as mismatch:
        await client.create(PODS, pod("liar", priorityClassName="system-node-critical",
                                      priority=5), namespace=namespace)
    assert mismatch.value.code == 403


async def test_global_default_class_applies_to_pods_without_one(
        client: Client, namespace: str) -> None:
    name = f"default-{uuid.uuid4().hex[:6]}"
    await client.create(PRIORITYCLASSES, {"metadata": {"name": name}, "value": 1000,
                                          "globalDefault": True})
    try:
        with pytest.raises(StatusError) as second:
            await client.create(PRIORITYCLASSES, {"metadata": {"name": f"{name}-2"},
                                                  "value": 10, "globalDefault": True})
        assert second.value.code == 403
        plain = await client.create(PODS, pod("plain"), namespace=namespace)
        assert (plain["spec"]["priority"], plain["spec"]["priorityClassName"]) == (1000, name)
    finally:
        await client.delete(PRIORITYCLASSES, name)
    after = await client.create(PODS, pod("after"), namespace=namespace)
    assert after["spec"]["priority"] == 0
