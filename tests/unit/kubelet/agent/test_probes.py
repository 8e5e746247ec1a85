"""Probe state machines: thresholds, initial delay and period, startup gating, seeding."""

from __future__ import annotations

import asyncio

from steersman.client import FakeClock
from steersman.kubelet.agent.handlers import Target
from steersman.kubelet.agent.probes import ContainerProbes, ProbeCounter
from tests.unit.kubelet.agent.fake_runtime import FakeRuntime


def test_counter_flips_only_after_a_run_of_threshold_results() -> None:
    counter = ProbeCounter(success_threshold=2, failure_threshold=3, result=False)
    assert [counter.record(ok) for ok in (True, False, True, True)] == [False] * 3 + [True]
    assert counter.result is True
    assert [counter.record(ok) for ok in (False, False, True, False, False, False)] == \
        [False] * 5 + [True]
    assert counter.result is False
    unknown = ProbeCounter(success_threshold=1, failure_threshold=2, result=None)
    assert unknown.record(False) is False and unknown.record(False) is True


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_liveness_failure_marks_the_container_unhealthy() -> None:
    clock = FakeClock()
    runtime = FakeRuntime(clock)
    runtime.exec_results[("false",)] = 1
    changes: list[str] = []
    probes = ContainerProbes(
        {"livenessProbe": {"exec": {"command": ["false"]}, "initialDelaySeconds": 5,
                           "periodSeconds": 2, "failureThreshold": 2}},
        Target(runtime, "c1", "127.42.200.2"), clock=clock,
        on_change=lambda: changes.append("x"))
    await settle()
    assert not runtime.calls  # the initial delay
    clock.advance(5)
    await settle()
    assert len(runtime.calls) == 1 and not probes.unhealthy
    clock.advance(2)
    await settle()
    assert probes.unhealthy and changes == ["x"]
    assert "Liveness probe failed" in probes.message
    probes.stop()


async def test_readiness_waits_for_startup_and_needs_its_success_threshold() -> None:
    clock = FakeClock()
    runtime = FakeRuntime(clock)
    runtime.exec_results[("check",)] = 1
    probes = ContainerProbes(
        {"startupProbe": {"exec": {"command": ["check"]}, "periodSeconds": 1,
                          "failureThreshold": 30},
         "readinessProbe": {"exec": {"command": ["ready"]}, "periodSeconds": 1,
                            "successThreshold": 2}},
        Target(runtime, "c1", ""), clock=clock, on_change=lambda: None)
    await settle()
    assert not probes.started and not probes.ready
    runtime.exec_results[("check",)] = 0
    clock.advance(1)
    await settle()
    assert probes.started and not probes.ready
    clock.advance(1)
    await settle()
    assert probes.ready
    probes.stop()


async def test_an_adopted_container_keeps_its_readiness() -> None:
    clock = FakeClock()
    probes = ContainerProbes({"readinessProbe": {"exec": {"command": ["ready"]}}},
                             Target(FakeRuntime(clock), "c1", ""), clock=clock,
                             on_change=lambda: None, ready=True, started=True)
    assert probes.ready and probes.started
    probes.stop()
