"""The scheduling loop end to end with a fake binder, a fake recorder and a fake clock."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from steersman.scheduler import FakeClock, Scheduler
from steersman.scheduler import scheduler as scheduler_module
from tests.unit.scheduler.fixtures import FakeBinder, FakeRecorder, make_node, make_pod

HOST = "kubernetes.io/hostname"


def new_scheduler() -> tuple[Scheduler, FakeBinder, FakeRecorder, FakeClock]:
    binder, recorder, clock = FakeBinder(), FakeRecorder(), FakeClock()
    return Scheduler(binder=binder, recorder=recorder, clock=clock, seed=7), binder, recorder, \
        clock


async def test_node_selector_places_replicas_only_on_labelled_nodes() -> None:
    scheduler, binder, _, _ = new_scheduler()
    for index in range(6):
        labels = {"disktype": "ssd"} if index < 3 else {}
        scheduler.on_node_add(make_node(f"n{index}", labels=labels))
    for index in range(30):
        scheduler.on_pod_add(make_pod(f"web-{index}", nodeSelector={"disktype": "ssd"}))
    await scheduler.run_until_idle()
    assert len(binder.bindings) == 30
    assert set(binder.bindings.values()) <= {"n0", "n1", "n2"}
    assert len(set(binder.bindings.values())) == 3  # least-allocated spreads them


async def test_required_anti_affinity_spreads_one_per_node_and_reports_the_rest() -> None:
    scheduler, binder, recorder, _ = new_scheduler()
    for index in range(3):
        scheduler.on_node_add(make_node(f"n{index}"))
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": HOST}]}}
    for index in range(5):
        scheduler.on_pod_add(make_pod(f"db-{index}", labels={"app": "db"}, affinity=anti))
    await scheduler.run_until_idle()
    assert sorted(binder.bindings.values()) == ["n0", "n1", "n2"]
    message = ("0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. "
               "preemption: 0/3 nodes are available: 3 No preemption victims found for "
               "incoming pod.")
    assert recorder.messages("FailedScheduling") == [message, message]
    assert {m for m, _ in binder.unschedulable.values()} == {message}
    assert len(binder.unschedulable) == 2


async def test_taints_and_insufficient_cpu_message() -> None:
    scheduler, binder, recorder, _ = new_scheduler()
    scheduler.on_node_add(make_node("control", taints=[
        {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]))
    scheduler.on_node_add(make_node("w1", cpu="1"))
    scheduler.on_node_add(make_node("w2", cpu="1"))
    scheduler.on_pod_add(make_pod("big", cpu="2"))
    await scheduler.run_until_idle()
    assert binder.bindings == {}
    assert recorder.messages("FailedScheduling") == [
        "0/3 nodes are available: 1 node(s) had untolerated taint "
        "{node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu. preemption: 0/3 nodes "
        "are available: 3 Preemption is not helpful for scheduling."]


async def test_toleration_lets_a_pod_onto_a_tainted_node() -> None:
    scheduler, binder, _, _ = new_scheduler()
    scheduler.on_node_add(make_node("gpu", taints=[{"key": "gpu", "effect": "NoSchedule"}]))
    scheduler.on_pod_add(make_pod("plain"))
    scheduler.on_pod_add(make_pod("tolerant", tolerations=[{"key": "gpu", "operator": "Exists"}]))
    await scheduler.run_until_idle()
    assert binder.bindings == {"tolerant": "gpu"}


async def test_preemption_evicts_the_lower_priority_pod() -> None:
    scheduler, binder, recorder, _ = new_scheduler()
    scheduler.on_node_add(make_node("n1", cpu="1"))
    low = make_pod("low", cpu="1", priority=0, node_name="n1")
    scheduler.on_pod_add(low)
    scheduler.on_pod_add(make_pod("high", cpu="1", priority=1000))
    await scheduler.run_until_idle()
    assert binder.deleted == ["low"]
    message, nominated = binder.unschedulable["high"]
    assert nominated == "n1"
    assert message == "0/1 nodes are available: 1 Insufficient cpu."
    assert recorder.messages("Preempted") == ["Preempted by pod uid-high on node n1"]
    scheduler.on_pod_delete(low)  # the victim is gone: the preemptor is retried
    await scheduler.clock.advance(1.0)  # type: ignore[attr-defined]
    scheduler.queue.flush()
    await scheduler.run_until_idle()
    assert binder.bindings == {"high": "n1"}


async def test_backoff_and_requeue_on_node_add() -> None:
    scheduler, binder, _, clock = new_scheduler()
    runner = asyncio.create_task(scheduler.run())
    scheduler.on_pod_add(make_pod("p"))
    await _settle()
    assert "p" in binder.unschedulable  # no nodes at all
    scheduler.on_node_add(make_node("n1"))  # moves it, still backing off (1 s)
    await _settle()
    assert binder.bindings == {}
    assert scheduler.queue.counts()["backoff"] == 1
    await clock.advance(1.0)
    await _settle()
    assert binder.bindings == {"p": "n1"}
    scheduler.stop()
    await runner


async def test_failed_binding_is_forgotten_and_retried() -> None:
    scheduler, binder, recorder, clock = new_scheduler()
    binder.fail_binds = 1
    scheduler.on_node_add(make_node("n1", cpu="1"))
    scheduler.on_pod_add(make_pod("p", cpu="1"))
    await scheduler.run_until_idle()
    assert binder.bindings == {}
    assert scheduler.cache.node("n1") is not None
    assert not scheduler.cache.node("n1").pods  # type: ignore[union-attr]
    assert recorder.messages("FailedScheduling") == ["binding rejected: conflict"]
    await clock.advance(1.0)
    scheduler.queue.flush()
    await scheduler.run_until_idle()
    assert binder.bindings == {"p": "n1"}


async def test_burst_never_overcommits_thanks_to_assumed_pods() -> None:
    scheduler, binder, _, _ = new_scheduler()
    scheduler.on_node_add(make_node("n1", cpu="1"))
    for index in range(5):
        scheduler.on_pod_add(make_pod(f"p{index}", cpu="300m"))
    await scheduler.run_until_idle()
    assert len(binder.bindings) == 3


async def test_run_schedules_a_burst_of_ready_pods_per_loop_turn(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # One cycle per event-loop turn would tie the rate to how often a busy loop comes round.
    monkeypatch.setattr(scheduler_module, "BURST_SECONDS", 60.0)  # no timing in the test
    scheduler, binder, _, _ = new_scheduler()
    scheduler.on_node_add(make_node("n1"))
    for index in range(20):
        scheduler.on_pod_add(make_pod(f"p{index}"))
    runner = asyncio.create_task(scheduler.run())
    await asyncio.sleep(0)  # run() pops the first pod and schedules the rest in its burst
    assert len(scheduler.queue) == 0
    for _ in range(3):
        await asyncio.sleep(0)  # the bindings run
    scheduler.stop()
    await runner
    assert len(binder.bindings) == 20


async def test_only_own_unbound_live_pods_are_scheduled() -> None:
    scheduler, binder, _, _ = new_scheduler()
    scheduler.on_node_add(make_node("n1"))
    other = make_pod("other", schedulerName="my-scheduler")
    deleting: dict[str, Any] = make_pod("deleting")
    deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    scheduler.on_pod_add(other)
    scheduler.on_pod_add(deleting)
    scheduler.on_pod_add(make_pod("bound", node_name="n1"))
    await scheduler.run_until_idle()
    assert binder.bindings == {}
    assert len(scheduler.cache.node("n1").pods) == 1  # type: ignore[union-attr]


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_update_while_binding_is_in_flight_does_not_reschedule() -> None:
    scheduler, binder, _, _ = new_scheduler()
    scheduler.on_node_add(make_node("n1"))
    pod = make_pod("p")
    scheduler.on_pod_add(pod)
    queued = scheduler.queue.pop_nowait()
    assert queued is not None
    scheduler.schedule_one(queued)  # assumed; the binding task has not run yet
    scheduler.on_pod_update(pod)  # e.g. a label change seen before the binding
    assert "uid-p" not in scheduler.queue
    await scheduler.run_until_idle()
    assert binder.bindings == {"p": "n1"}
