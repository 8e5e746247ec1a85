"""Resizing a Deployment: the single active ReplicaSet, saturation, proportional shares."""

from __future__ import annotations

from typing import Any

from steersman.controllers.deployment.scaling import (
    find_active_or_latest,
    proportional_plan,
    round_half_away,
    scale_plan,
)

Object = dict[str, Any]


def deployment(replicas: int) -> Object:
    return {"metadata": {"name": "web"},
            "spec": {"replicas": replicas, "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}},
            "status": {"replicas": 13}}


def rs(name: str, replicas: int, created: int, *, available: int = 0,
       desired: int = 10, max_replicas: int = 13) -> Object:
    return {"metadata": {"name": name, "creationTimestamp": f"2024-01-01T00:00:{created:02d}Z",
                         "annotations": {
                             "deployment.kubernetes.io/desired-replicas": str(desired),
                             "deployment.kubernetes.io/max-replicas": str(max_replicas)}},
            "spec": {"replicas": replicas}, "status": {"availableReplicas": available}}


def test_round_half_away_from_zero() -> None:
    assert [round_half_away(x) for x in (0.5, 1.5, 2.5, -0.5, -2.5, 2.4)] == [1, 2, 3, -1, -3, 2]


def test_a_single_active_replica_set_takes_the_whole_size() -> None:
    new, old = rs("new", 10, 9), [rs("old", 0, 1)]
    assert find_active_or_latest(new, old) is new
    assert scale_plan(deployment(20), new, old) == {"new": 20}


def test_nothing_active_picks_the_newest() -> None:
    old = [rs("a", 0, 1), rs("b", 0, 2)]
    assert find_active_or_latest(None, old) is old[1]


def test_saturated_new_replica_set_empties_the_old_ones() -> None:
    new = rs("new", 10, 9, available=10)
    assert scale_plan(deployment(10), new, [rs("old", 3, 1)]) == {"old": 0}


def test_scale_up_mid_rollout_is_proportional() -> None:
    # 10 → 20 replicas: 25 pods allowed (20 + 25% surge); 13 asked for under max 13.
    plan = proportional_plan(deployment(20), rs("new", 6, 9), [rs("old", 7, 1)])
    assert plan == {"old": 13, "new": 12}


def test_scale_down_mid_rollout_is_proportional() -> None:
    # 10 → 5 replicas: 7 allowed (5 + 2 surge); shares of 6 and 7 under max 13.
    plan = proportional_plan(deployment(5), rs("new", 6, 9), [rs("old", 7, 1)])
    assert plan == {"old": 4, "new": 3}
    assert sum(plan.values()) == 7
