"""PodDisruptionBudget arithmetic: expectations, healthy pods, disruptions allowed."""

from __future__ import annotations

from typing import Any

import pytest

from steersman.api.meta import now_rfc3339
from steersman.controllers.disruption import budget
from tests.unit.controllers.fixtures import pod

Object = dict[str, Any]
NOW = 1_700_000_000.0


@pytest.mark.parametrize(("spec", "pods", "scale", "expected"), [
    ({"minAvailable": 2}, 3, 0, budget.Expectation(3, 2)),
    ({"minAvailable": "50%"}, 3, 5, budget.Expectation(5, 3)),
    ({"maxUnavailable": 1}, 3, 4, budget.Expectation(4, 3)),
    ({"maxUnavailable": "30%"}, 3, 10, budget.Expectation(10, 7)),
    ({"maxUnavailable": 5}, 3, 3, budget.Expectation(3, 0)),
    ({}, 3, 0, budget.Expectation(0, 0)),
])
def test_expectation(spec: Object, pods: int, scale: int, expected: budget.Expectation) -> None:
    assert budget.expectation(spec, pods, scale) == expected
    assert budget.needs_scale(spec) is (
        "maxUnavailable" in spec or isinstance(spec.get("minAvailable"), str))


def test_bad_percentage_is_an_error() -> None:
    with pytest.raises(ValueError):
        budget.scaled_value("5", 10)


def test_live_disruptions_drop_gone_deleting_and_expired() -> None:
    pods = [pod("a"), pod("b"), pod("c", terminating=True)]
    recorded = {"a": now_rfc3339(NOW - 10), "b": now_rfc3339(NOW - 500),
                "c": now_rfc3339(NOW - 10), "gone": now_rfc3339(NOW - 10)}
    kept, recheck = budget.live_disruptions(recorded, pods, NOW)
    assert kept == {"a": recorded["a"]}
    assert recheck == pytest.approx(budget.DELETION_TIMEOUT - 10)


def test_current_healthy_excludes_unready_deleting_and_disrupted() -> None:
    pods = [pod("a"), pod("b", ready=False), pod("c", terminating=True), pod("d")]
    assert budget.current_healthy(pods, {"d": "x"}) == 1


@pytest.mark.parametrize(("healthy", "expected", "allowed", "reason"), [
    (3, budget.Expectation(3, 2), 1, "SufficientPods"),
    (2, budget.Expectation(3, 2), 0, "InsufficientPods"),
    (1, budget.Expectation(3, 2), 0, "InsufficientPods"),
    (2, budget.Expectation(0, 0), 0, "InsufficientPods"),
])
def test_budget_status(healthy: int, expected: budget.Expectation, allowed: int,
                       reason: str) -> None:
    pdb = {"metadata": {"generation": 4}, "status": {}}
    status = budget.budget_status(pdb, healthy=healthy, expected=expected, disrupted={},
                                  now=NOW)
    assert status["disruptionsAllowed"] == allowed
    assert (status["currentHealthy"], status["desiredHealthy"], status["expectedPods"]) == (
        healthy, expected.desired_healthy, expected.expected_pods)
    assert status["observedGeneration"] == 4 and "disruptedPods" not in status
    [condition] = status["conditions"]
    assert (condition["type"], condition["reason"]) == ("DisruptionAllowed", reason)
    assert condition["status"] == ("True" if allowed else "False")


def test_condition_time_moves_only_with_its_status() -> None:
    pdb: Object = {"metadata": {"generation": 1}, "status": {}}
    first = budget.budget_status(pdb, healthy=3, expected=budget.Expectation(3, 2),
                                 disrupted={}, now=NOW)
    pdb["status"] = first
    same = budget.budget_status(pdb, healthy=3, expected=budget.Expectation(3, 2),
                                disrupted={}, now=NOW + 60)
    assert same == first
    flipped = budget.budget_status(pdb, healthy=2, expected=budget.Expectation(3, 2),
                                   disrupted={}, now=NOW + 60)
    assert flipped["conditions"][0]["lastTransitionTime"] == now_rfc3339(NOW + 60)


def test_failed_status_allows_nothing() -> None:
    pdb = {"metadata": {"generation": 1}, "status": {"disruptionsAllowed": 2,
                                                     "currentHealthy": 3}}
    status = budget.failed_status(pdb, 'found no controllers for pod "a"', NOW)
    assert status["disruptionsAllowed"] == 0 and status["currentHealthy"] == 3
    assert status["conditions"][0]["reason"] == "SyncFailed"
