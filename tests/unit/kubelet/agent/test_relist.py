"""RuntimeSnapshots: one shared runtime listing, fresh enough for every pod worker."""

from __future__ import annotations

import asyncio

from steersman.client import FakeClock
from steersman.kubelet.agent.cri import POD_UID_LABEL, SandboxConfig
from steersman.kubelet.agent.relist import RuntimeSnapshots, TrackingRuntime, last_change
from tests.unit.kubelet.agent.fake_runtime import FakeRuntime


class CountingRuntime(FakeRuntime):
    """The fake runtime, counting container listings and letting the test hold them."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.listings = 0
        self.gate = asyncio.Event()
        self.gate.set()

    async def list_containers(self, *, pod_uid: str = ""):  # type: ignore[no-untyped-def]
        if not pod_uid:
            self.listings += 1
            await self.gate.wait()
        return await super().list_containers(pod_uid=pod_uid)


def _sandbox(uid: str) -> SandboxConfig:
    return SandboxConfig(name=f"pod-{uid}", namespace="default", uid=uid,
                         labels={POD_UID_LABEL: uid})


async def test_concurrent_callers_share_one_listing() -> None:
    clock = FakeClock()
    runtime = CountingRuntime(clock)
    snapshots = RuntimeSnapshots(runtime, clock=clock)
    runtime.gate.clear()
    callers = [asyncio.create_task(snapshots.views()) for _ in range(20)]
    await asyncio.sleep(0)
    runtime.gate.set()
    await asyncio.gather(*callers)
    assert runtime.listings == 1


async def test_a_recent_listing_is_reused_until_it_ages() -> None:
    clock = FakeClock()
    runtime = CountingRuntime(clock)
    snapshots = RuntimeSnapshots(runtime, clock=clock, max_age=0.5)
    await snapshots.views()
    await snapshots.views()
    assert runtime.listings == 1
    clock.advance(0.6)
    await snapshots.views()
    assert runtime.listings == 2


async def test_a_worker_sees_its_own_change_at_once() -> None:
    clock = FakeClock()
    runtime = CountingRuntime(clock)
    snapshots = RuntimeSnapshots(runtime, clock=clock)
    tracked = TrackingRuntime(runtime, snapshots)
    assert (await snapshots.view("u1")).sandbox is None

    async def worker() -> bool:
        await tracked.run_pod_sandbox(_sandbox("u1"))
        assert last_change() > 0
        return (await snapshots.view("u1", after=last_change())).sandbox is not None

    assert await asyncio.create_task(worker())
    assert last_change() == 0  # the change belongs to the worker's task, not to this one


async def test_a_change_made_during_a_listing_is_read_for_that_pod_alone() -> None:
    clock = FakeClock()
    runtime = CountingRuntime(clock)
    snapshots = RuntimeSnapshots(runtime, clock=clock)
    tracked = TrackingRuntime(runtime, snapshots)
    runtime.gate.clear()
    early = asyncio.create_task(snapshots.views())
    await asyncio.sleep(0)  # a listing is under way, started before the change

    async def worker() -> bool:
        await tracked.run_pod_sandbox(_sandbox("u2"))
        return (await snapshots.view("u2", after=last_change())).sandbox is not None

    late = [asyncio.create_task(worker()) for _ in range(3)]
    await asyncio.sleep(0)
    runtime.gate.set()
    await early
    assert await asyncio.gather(*late) == [True, True, True]
    assert runtime.listings == 1  # each worker read its own pod, not the whole node
    await snapshots.views(after=last_change() or snapshots.changed())
    assert runtime.listings == 2  # a full listing after the changes
