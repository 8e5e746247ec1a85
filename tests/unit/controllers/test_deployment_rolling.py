"""One rolling-update step at a time, from ReplicaSet states to the sizes written."""

from __future__ import annotations

from typing import Any

import pytest

from steersman.controllers.deployment.rolling import (
    new_rs_new_replicas,
    old_rs_targets,
    rolling_step,
)

Object = dict[str, Any]


def deployment(replicas: int = 3, surge: int | str = "25%",
               unavailable: int | str = "25%", kind: str = "RollingUpdate") -> Object:
    strategy: Object = {"type": kind}
    if kind == "RollingUpdate":
        strategy["rollingUpdate"] = {"maxSurge": surge, "maxUnavailable": unavailable}
    return {"metadata": {"name": "web", "generation": 2},
            "spec": {"replicas": replicas, "strategy": strategy}}


def rs(name: str, replicas: int, available: int | None = None, created: int = 0) -> Object:
    available = replicas if available is None else available
    return {"metadata": {"name": name, "creationTimestamp": f"2024-01-01T00:00:{created:02d}Z"},
            "spec": {"replicas": replicas},
            "status": {"replicas": replicas, "availableReplicas": available}}


@pytest.mark.parametrize(("new", "old", "expected"), [
    # surge 1, unavailable 0 for 3 replicas: one new pod first ...
    (rs("new", 0, created=9), [rs("old", 3)], {"new": 1}),
    # ... then wait until it is available ...
    (rs("new", 1, 0, created=9), [rs("old", 3)], {}),
    # ... then give one old pod back.
    (rs("new", 1, 1, created=9), [rs("old", 3)], {"old": 2}),
    (rs("new", 1, 1, created=9), [rs("old", 2)], {"new": 2}),
    (rs("new", 2, 2, created=9), [rs("old", 2)], {"old": 1}),
    (rs("new", 2, 2, created=9), [rs("old", 1)], {"new": 3}),
    (rs("new", 3, 3, created=9), [rs("old", 1)], {"old": 0}),
    (rs("new", 3, 3, created=9), [rs("old", 0)], {}),
])
def test_rolling_steps_with_surge_one(new: Object, old: list[Object],
                                      expected: dict[str, int]) -> None:
    assert rolling_step(deployment(), new, old) == expected


def test_unavailable_old_pods_go_first_oldest_replica_set_first() -> None:
    d = deployment(replicas=4, surge=0, unavailable=1)
    new = rs("new", 0, created=9)
    old = [rs("older", 2, 0, created=1), rs("old", 2, 2, created=2)]
    # budget = 4 - 3 - 0 = 1: one unavailable pod of the older ReplicaSet.
    assert old_rs_targets(d, new, old) == {"older": 1}


def test_available_pods_scale_down_to_min_available() -> None:
    d = deployment(replicas=4, surge=0, unavailable=2)
    assert old_rs_targets(d, rs("new", 0, created=9), [rs("old", 4)]) == {"old": 2}


def test_new_replica_set_shrinks_to_desired() -> None:
    assert rolling_step(deployment(replicas=2), rs("new", 5), []) == {"new": 2}


def test_new_rs_new_replicas() -> None:
    new = rs("new", 0)
    assert new_rs_new_replicas(deployment(10), [rs("old", 10), new], new) == 3
    assert new_rs_new_replicas(deployment(10), [rs("old", 13), new], new) == 0
    assert new_rs_new_replicas(deployment(10, kind="Recreate"), [new], new) == 10
