"""The HPA's replica calculation, table-driven: utilization, tolerance, unready and missing pods."""

from __future__ import annotations

import pytest

from steersman.controllers.horizontalpodautoscaler.replicas import (
    PodInfo,
    ReplicaCalcError,
    Sample,
    average_value_replicas,
    utilization_replicas,
)

NOW = 10_000.0
OLD = NOW - 3600  # started long ago: past the cpu initialization period


def pod(name: str, *, request: int | None = 100, phase: str = "Running", ready: bool = True,
        start: float = OLD, ready_since: float = OLD) -> PodInfo:
    return PodInfo(name, phase=phase, ready=ready, start_time=start, ready_since=ready_since,
                   requests={"c": request})


def sample(value: int, at: float = NOW) -> Sample:
    return Sample(value, at, 15.0)


@pytest.mark.parametrize(("usages", "target", "want", "utilization"), [
    ([50, 50], 50, 2, 50),  # on target
    ([54, 54], 50, 2, 54),  # within the 10 % tolerance
    ([100, 100], 50, 4, 100),  # double the target: double the pods
    ([10, 10], 50, 1, 10),  # far below: scale down
    ([100, 200], 50, 6, 150),
])
def test_utilization(usages: list[int], target: int, want: int, utilization: int) -> None:
    pods = [pod(f"p{i}") for i in range(len(usages))]
    samples = {f"p{i}": sample(u) for i, u in enumerate(usages)}
    proposal = utilization_replicas(current=len(pods), target=target, resource="cpu",
                                    pods=pods, samples=samples, now=NOW)
    assert (proposal.replicas, proposal.utilization) == (want, utilization)
    assert proposal.average == sum(usages) // len(usages)


def test_a_burning_pod_with_a_small_request() -> None:
    """1 core used against a 20m request at a 50 % target: 100 replicas proposed."""
    proposal = utilization_replicas(current=1, target=50, resource="cpu",
                                    pods=[pod("a", request=20)], samples={"a": sample(1000)},
                                    now=NOW)
    assert (proposal.replicas, proposal.utilization) == (100, 5000)


def test_missing_samples_count_as_full_request_on_a_scale_down() -> None:
    pods = [pod("a"), pod("b"), pod("c")]
    proposal = utilization_replicas(current=3, target=50, resource="cpu", pods=pods,
                                    samples={"a": sample(10), "b": sample(10)}, now=NOW)
    # (10 + 10 + 100) / 300 = 40 % vs 50 %: ratio 0.8, ceil(0.8 * 3) = 3 - nothing to do
    assert proposal.replicas == 3
    proposal = utilization_replicas(current=3, target=50, resource="cpu", pods=pods,
                                    samples={"a": sample(0), "b": sample(0)}, now=NOW)
    assert proposal.replicas == 2  # (0 + 0 + 100) / 300 = 33 %: ceil(0.667 * 3)


def test_missing_samples_count_as_zero_on_a_scale_up() -> None:
    pods = [pod("a"), pod("b")]
    proposal = utilization_replicas(current=2, target=50, resource="cpu", pods=pods,
                                    samples={"a": sample(200)}, now=NOW)
    assert proposal.replicas == 4  # (200 + 0) / 200 = 100 %: double


def test_unready_pods_count_as_zero_on_a_scale_up() -> None:
    pods = [pod("a"), pod("b", ready=False, start=NOW - 60, ready_since=NOW - 60),
            pod("c", phase="Pending")]
    samples = {"a": sample(100), "b": sample(900)}
    proposal = utilization_replicas(current=3, target=50, resource="cpu", pods=pods,
                                    samples=samples, now=NOW)
    # only a counts: 100 %; refilled b and c with 0: 100 / 300 = 33 % - a direction change
    assert proposal.replicas == 3
    proposal = utilization_replicas(current=3, target=50, resource="cpu", pods=pods,
                                    samples={"a": sample(400), "b": sample(900)}, now=NOW)
    assert proposal.replicas == 8  # 400 / 300 = 133 %, ratio 2.67 over 3 pods


def test_a_sample_older_than_the_readiness_change_is_not_used_for_cpu() -> None:
    fresh = pod("a", start=NOW - 100, ready_since=NOW - 5)  # ready 5 s ago, window 15 s
    with pytest.raises(ReplicaCalcError, match="did not receive metrics"):
        utilization_replicas(current=1, target=50, resource="cpu", pods=[fresh],
                             samples={"a": sample(500)}, now=NOW)
    proposal = utilization_replicas(current=1, target=50, resource="memory", pods=[fresh],
                                    samples={"a": sample(500)}, now=NOW)
    assert proposal.replicas == 10  # memory ignores readiness


def test_deleted_and_failed_pods_are_ignored() -> None:
    gone = PodInfo("x", deleting=True, requests={"c": 100})
    failed = pod("y", phase="Failed")
    proposal = utilization_replicas(current=3, target=50, resource="cpu",
                                    pods=[pod("a"), gone, failed], samples={"a": sample(100)},
                                    now=NOW)
    assert proposal.replicas == 2


def test_errors_say_what_is_missing() -> None:
    with pytest.raises(ReplicaCalcError, match="no pods returned by selector"):
        utilization_replicas(current=1, target=50, resource="cpu", pods=[], samples={},
                             now=NOW)
    with pytest.raises(ReplicaCalcError, match="missing request for cpu in container c of Pod a"):
        utilization_replicas(current=1, target=50, resource="cpu", pods=[pod("a", request=None)],
                             samples={"a": sample(10)}, now=NOW)


def test_average_value() -> None:
    pods = [pod("a"), pod("b")]
    samples = {"a": sample(300_000), "b": sample(500_000)}  # 300m and 500m
    proposal = average_value_replicas(current=2, target=200_000, resource="cpu", pods=pods,
                                      samples=samples, now=NOW)
    assert (proposal.replicas, proposal.utilization, proposal.average) == (4, None, 400_000)
