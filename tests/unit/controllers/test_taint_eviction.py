"""When a NoExecute taint evicts a pod, from its tolerations."""

from __future__ import annotations

from typing import Any

import pytest

from steersman.controllers.nodelifecycle.taints import (
    IMMEDIATELY,
    eviction_deadline,
    no_execute_changed,
    tolerates,
)

Object = dict[str, Any]
UNREACHABLE = {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}
NOT_READY = {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}
ADDED = {"node.kubernetes.io/unreachable": 1000.0, "node.kubernetes.io/not-ready": 1010.0}


def toleration(key: str = "node.kubernetes.io/unreachable", seconds: int | None = None,
               **extra: Any) -> Object:
    tol: Object = {"key": key, "operator": "Exists", "effect": "NoExecute", **extra}
    if seconds is not None:
        tol["tolerationSeconds"] = seconds
    return tol


@pytest.mark.parametrize(("tol", "taint", "expected"), [
    ({"operator": "Exists"}, UNREACHABLE, True),
    ({"key": "node.kubernetes.io/unreachable", "operator": "Exists"}, UNREACHABLE, True),
    ({"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule", "operator": "Exists"},
     UNREACHABLE, False),
    ({"key": "k", "value": "v"}, {"key": "k", "value": "v", "effect": "NoExecute"}, True),
    ({"key": "k", "value": "w"}, {"key": "k", "value": "v", "effect": "NoExecute"}, False),
    ({"key": "other", "operator": "Exists"}, UNREACHABLE, False),
])
def test_tolerates(tol: Object, taint: Object, expected: bool) -> None:
    assert tolerates(tol, taint) is expected


@pytest.mark.parametrize(("taints", "tolerations", "expected"), [
    ([UNREACHABLE], [], IMMEDIATELY),
    ([UNREACHABLE], [toleration(seconds=300)], 1300.0),
    ([UNREACHABLE], [toleration()], None),
    ([UNREACHABLE], [toleration(seconds=0)], 1000.0),
    ([UNREACHABLE, NOT_READY], [toleration(seconds=300)], IMMEDIATELY),
    ([UNREACHABLE, NOT_READY],
     [toleration(seconds=300), toleration("node.kubernetes.io/not-ready", 2)], 1012.0),
    ([UNREACHABLE], [toleration(seconds=5), toleration(seconds=600)], 1005.0),
    ([], [], None),
])
def test_eviction_deadline(taints: list[Object], tolerations: list[Object],
                           expected: float | None) -> None:
    assert eviction_deadline(taints, tolerations, lambda t: ADDED[t["key"]]) == expected


def test_no_execute_changed_ignores_other_effects() -> None:
    def node(*taints: Object) -> Object:
        return {"spec": {"taints": list(taints)}}
    no_schedule = {"key": "x", "effect": "NoSchedule"}
    assert not no_execute_changed(node(UNREACHABLE), node(UNREACHABLE, no_schedule))
    assert no_execute_changed(node(), node(UNREACHABLE))
