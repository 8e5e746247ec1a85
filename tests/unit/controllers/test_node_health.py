"""Node heartbeats, Unknown conditions and the taints the conditions call for."""

from __future__ import annotations

from typing import Any

import pytest

from steersman.controllers.nodelifecycle import health

Object = dict[str, Any]
NOW = "2024-05-01T12:00:00Z"


def node(ready: str | None = "True", *, taints: list[Object] | None = None,
         unschedulable: bool = False, heartbeat: str = "2024-05-01T11:59:50Z",
         extra: list[Object] | None = None) -> Object:
    conditions = list(extra or [])
    if ready is not None:
        conditions.append({"type": "Ready", "status": ready, "reason": "KubeletReady",
                           "lastHeartbeatTime": heartbeat,
                           "lastTransitionTime": "2024-05-01T10:00:00Z"})
    spec: Object = {"taints": taints or []}
    if unschedulable:
        spec["unschedulable"] = True
    return {"metadata": {"name": "n1", "creationTimestamp": "2024-05-01T09:00:00Z"},
            "spec": spec, "status": {"conditions": conditions}}


def lease(renew: str) -> Object:
    return {"spec": {"renewTime": renew}}


def test_probe_moves_only_when_a_heartbeat_changes() -> None:
    first = health.observe(None, node(), lease("2024-05-01T11:59:55.000000Z"), 100.0)
    assert first.seen_at == 100.0
    same = health.observe(first, node(), lease("2024-05-01T11:59:55.000000Z"), 130.0)
    assert same is first
    renewed = health.observe(first, node(), lease("2024-05-01T12:00:05.000000Z"), 140.0)
    assert renewed.seen_at == 140.0
    status_posted = health.observe(renewed, node(heartbeat=NOW), lease(
        "2024-05-01T12:00:05.000000Z"), 150.0)
    assert status_posted.seen_at == 150.0


def test_unknown_conditions() -> None:
    pressure = {"type": "MemoryPressure", "status": "False"}
    stale = health.with_unknown_conditions(node(extra=[pressure]), NOW)
    by_type = {c["type"]: c for c in stale["status"]["conditions"]}
    assert by_type["Ready"] == {
        "type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown",
        "message": "Kubelet stopped posting node status.",
        "lastHeartbeatTime": "2024-05-01T11:59:50Z", "lastTransitionTime": NOW}
    assert by_type["MemoryPressure"]["status"] == "Unknown"
    assert by_type["DiskPressure"]["reason"] == "NodeStatusNeverUpdated"
    never = health.with_unknown_conditions(node(None), NOW)
    ready = next(c for c in never["status"]["conditions"] if c["type"] == "Ready")
    assert ready["message"] == "Kubelet never posted node status."


@pytest.mark.parametrize(("ready", "unschedulable", "expected"), [
    ("True", False, []),
    ("False", False, [(health.NOT_READY, "NoExecute"), (health.NOT_READY, "NoSchedule")]),
    ("Unknown", False, [(health.UNREACHABLE, "NoExecute"), (health.UNREACHABLE, "NoSchedule")]),
    (None, False, []),
    ("True", True, [(health.UNSCHEDULABLE, "NoSchedule")]),
])
def test_derived_taints(ready: str | None, unschedulable: bool,
                        expected: list[tuple[str, str]]) -> None:
    assert health.derived_taints(node(ready, unschedulable=unschedulable)) == expected


def test_desired_taints_keep_others_and_time_added() -> None:
    user = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}
    old = {"key": health.UNREACHABLE, "effect": "NoExecute", "timeAdded": "2024-05-01T11:00:00Z"}
    stale_not_ready = {"key": health.NOT_READY, "effect": "NoExecute", "timeAdded": NOW}
    taints = health.desired_taints(node("Unknown", taints=[user, old, stale_not_ready]), NOW)
    assert taints == [user, old, {"key": health.UNREACHABLE, "effect": "NoSchedule"}]
    recovered = health.desired_taints(node("True", taints=taints), NOW)
    assert recovered == [user]


def test_new_no_execute_taint_gets_time_added() -> None:
    [no_execute, no_schedule] = health.desired_taints(node("False"), NOW)
    assert no_execute == {"key": health.NOT_READY, "effect": "NoExecute", "timeAdded": NOW}
    assert "timeAdded" not in no_schedule
