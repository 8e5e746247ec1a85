"""Pod workers against the fake runtime, a fake API and virtual time."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

import pytest

from steersman.api.errors import StatusError
from steersman.client import Client, FakeClock, Resource
from steersman.kubelet.agent.config import AgentConfig
from steersman.kubelet.agent.context import AgentContext
from steersman.kubelet.agent.cri import ContainerState
from steersman.kubelet.agent.workers import PodWorkers
from tests.unit.kubelet.agent.builders import container, pod
from tests.unit.kubelet.agent.fake_runtime import FakeRuntime

Object = dict[str, Any]


class FakeAPI:
    def __init__(self) -> None:
        self.statuses: list[Object] = []
        self.deleted: list[tuple[str, Object]] = []
        self.objects: dict[tuple[str, str], Object] = {}

    async def patch(self, resource: Resource, name: str, patch: Object, **_: Any) -> Object:
        self.statuses.append(patch["status"])
        return {}

    async def get(self, resource: Resource, name: str, **_: Any) -> Object:
        found = self.objects.get((resource.plural, name))
        if found is None:
            raise StatusError(404, "NotFound", "not found")
        return found

    async def list(self, resource: Resource, **_: Any) -> Object:
        return {"items": []}

    async def delete(self, resource: Resource, name: str, **options: Any) -> Object:
        self.deleted.append((name, options))
        return {}

    @property
    def last(self) -> Object:
        return self.statuses[-1]


@pytest.fixture
def setup(tmp_path: Path) -> tuple[FakeClock, FakeRuntime, FakeAPI, AgentContext]:
    clock = FakeClock()
    runtime = FakeRuntime(clock)
    api = FakeAPI()
    config = AgentConfig(node_name="n1", data_dir=tmp_path, pod_cidr="127.42.200.0/24",
                         cpu="2", memory="1Gi")
    ctx = AgentContext.build(cast(Client, api), runtime, config, clock=clock)
    return clock, runtime, api, ctx


async def settle(ctx: AgentContext) -> None:
    for _ in range(30):
        await asyncio.sleep(0)
    await ctx.statuses.flush()


async def test_a_pod_runs_then_crash_loops_with_growing_back_off(setup: Any) -> None:
    clock, runtime, api, ctx = setup
    workers = PodWorkers(ctx)
    workers.update(pod())
    await settle(ctx)
    status = api.last
    assert status["phase"] == "Running" and status["podIP"] == "127.42.200.2"
    first = runtime.running("app")[0]
    runtime.exit(first.id, 1)
    clock.advance(1)
    await settle(ctx)
    assert api.last["containerStatuses"][0]["restartCount"] == 1  # first crash: at once
    runtime.exit(runtime.running("app")[0].id, 1)
    clock.advance(1)
    await settle(ctx)
    app = api.last["containerStatuses"][0]
    assert app["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert "back-off 10s" in app["state"]["waiting"]["message"]
    assert app["lastState"]["terminated"]["exitCode"] == 1
    clock.advance(10)
    await settle(ctx)
    assert api.last["containerStatuses"][0]["restartCount"] == 2
    assert "running" in api.last["containerStatuses"][0]["state"]
    await workers.stop()


async def test_init_containers_then_containers_then_success(setup: Any) -> None:
    clock, runtime, api, ctx = setup
    workers = PodWorkers(ctx)
    workers.update(pod(init=(container("setup"),), policy="Never"))
    await settle(ctx)
    assert api.last["phase"] == "Pending" and not runtime.running("app")
    runtime.exit(runtime.running("setup")[0].id, 0)
    clock.advance(1)
    await settle(ctx)
    assert api.last["phase"] == "Running" and runtime.running("app")
    runtime.exit(runtime.running("app")[0].id, 0)
    clock.advance(1)
    await settle(ctx)
    assert api.last["phase"] == "Succeeded"
    assert api.last["initContainerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"
    await workers.stop()


async def test_deletion_runs_pre_stop_then_stops_and_deletes_with_a_uid(setup: Any) -> None:
    _clock, runtime, api, ctx = setup
    workers = PodWorkers(ctx)
    hooked = container("app", lifecycle={"preStop": {"exec": {"command": ["cleanup"]}}})
    spec = pod(hooked, terminationGracePeriodSeconds=5)
    workers.update(spec)
    await settle(ctx)
    cid = runtime.running("app")[0].id
    deleting = {**spec, "metadata": {**spec["metadata"], "deletionGracePeriodSeconds": 5,
                                     "deletionTimestamp": "2030-01-01T00:00:00Z"}}
    workers.update(deleting)
    await settle(ctx)
    assert runtime.calls.index(f"exec {cid} cleanup") < runtime.calls.index(
        f"stop_container {cid} 5")
    assert api.deleted == [("web", {"namespace": "ns", "grace_period_seconds": 0,
                                    "preconditions": {"uid": "uid-1"}})]
    assert not runtime.containers and not runtime.sandboxes and "uid-1" not in workers
    assert ctx.addresses.address_of("uid-1") is None


async def test_liveness_failure_restarts_and_readiness_gates_ready(setup: Any) -> None:
    clock, runtime, api, ctx = setup
    runtime.exec_results[("alive",)] = 1
    runtime.exec_results[("ready",)] = 1
    workers = PodWorkers(ctx)
    probed = container("app", livenessProbe={"exec": {"command": ["alive"]}, "periodSeconds": 1,
                                             "initialDelaySeconds": 1,
                                             "failureThreshold": 1},
                       readinessProbe={"exec": {"command": ["ready"]}, "periodSeconds": 1})
    workers.update(pod(probed))
    await settle(ctx)
    assert api.last["containerStatuses"][0]["ready"] is False
    first = runtime.running("app")[0].id
    clock.advance(1)
    await settle(ctx)
    assert runtime.containers[first].state is ContainerState.EXITED
    clock.advance(1)
    await settle(ctx)
    assert api.last["containerStatuses"][0]["restartCount"] == 1
    assert api.last["containerStatuses"][0]["lastState"]["terminated"]["exitCode"] == 143
    runtime.exec_results[("alive",)] = 0
    runtime.exec_results[("ready",)] = 0
    for _ in range(3):
        clock.advance(1)
        await settle(ctx)
    assert api.last["containerStatuses"][0]["ready"] is True
    assert {c["type"]: c["status"] for c in api.last["conditions"]}["Ready"] == "True"
    await workers.stop()


async def test_a_restarted_agent_adopts_running_containers(setup: Any) -> None:
    clock, runtime, api, ctx = setup
    workers = PodWorkers(ctx)
    workers.update(pod())
    await settle(ctx)
    running = runtime.running("app")[0].id
    await workers.stop()
    calls = len(runtime.calls)
    fresh = AgentContext.build(ctx.client, runtime, ctx.config, clock=clock)
    again = PodWorkers(fresh)
    again.update({**pod(), "status": api.last})
    assert await again.remove_orphans({"uid-1"}) == 0
    await settle(fresh)
    assert runtime.running("app")[0].id == running
    assert not [c for c in runtime.calls[calls:] if not c.startswith("exec")]
    assert fresh.addresses.address_of("uid-1") == "127.42.200.2"
    await again.stop()


async def test_containers_of_pods_deleted_meanwhile_are_removed(setup: Any) -> None:
    clock, runtime, _api, ctx = setup
    workers = PodWorkers(ctx)
    workers.update(pod())
    await settle(ctx)
    await workers.stop()
    fresh = PodWorkers(AgentContext.build(ctx.client, runtime, ctx.config, clock=clock))
    assert await fresh.remove_orphans(set()) == 1
    assert not runtime.containers and not runtime.sandboxes
