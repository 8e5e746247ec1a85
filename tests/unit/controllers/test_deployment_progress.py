"""Deployment status and conditions computed from ReplicaSets; revision annotations."""

from __future__ import annotations

from typing import Any

from steersman.controllers.deployment.progress import (
    TIMED_OUT,
    calculate_status,
    get_condition,
    new_condition,
    rollout_status,
    set_condition,
    stuck_recheck_after,
)
from steersman.controllers.deployment.revisions import (
    REVISION,
    REVISION_HISTORY,
    set_new_rs_annotations,
)

Object = dict[str, Any]
NOW = 1_700_000_000.0


def deployment(replicas: int = 3, status: Object | None = None) -> Object:
    return {"metadata": {"name": "web", "generation": 4,
                         "annotations": {"team": "a", REVISION: "7"}},
            "spec": {"replicas": replicas, "progressDeadlineSeconds": 600,
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {
                         "maxSurge": "25%", "maxUnavailable": "25%"}}},
            "status": status or {}}


def rs(name: str, replicas: int, ready: int, available: int) -> Object:
    return {"metadata": {"name": name}, "spec": {"replicas": replicas},
            "status": {"replicas": replicas, "readyReplicas": ready,
                       "availableReplicas": available}}


def test_counts_and_available_condition() -> None:
    new, old = rs("new", 2, 2, 1), rs("old", 2, 2, 2)
    status = calculate_status(deployment(), [old, new], new, NOW)
    assert {k: v for k, v in status.items() if k != "conditions"} == {
        "observedGeneration": 4, "replicas": 4, "updatedReplicas": 2, "readyReplicas": 4,
        "availableReplicas": 3, "unavailableReplicas": 1}
    available = get_condition(status, "Available")
    assert available is not None and available["reason"] == "MinimumReplicasAvailable"
    short = calculate_status(deployment(), [rs("new", 3, 0, 0)], None, NOW)
    assert (get_condition(short, "Available") or {}).get("reason") == "MinimumReplicasUnavailable"


def test_complete_rollout_reports_new_replica_set_available() -> None:
    new = rs("new", 3, 3, 3)
    status = rollout_status(deployment(), [new], new, NOW)
    progressing = get_condition(status, "Progressing")
    assert progressing is not None
    assert (progressing["reason"], progressing["message"]) == (
        "NewReplicaSetAvailable", 'ReplicaSet "new" has successfully progressed.')
    assert stuck_recheck_after(deployment(status=status), status, NOW) is None


def test_progress_then_deadline() -> None:
    stale = new_condition("Progressing", "True", "ReplicaSetUpdated", "", NOW - 700)
    before = deployment(status={"replicas": 3, "updatedReplicas": 1, "readyReplicas": 2,
                                "availableReplicas": 2, "conditions": [stale]})
    new, old = rs("new", 1, 0, 0), rs("old", 2, 2, 2)
    timed_out = rollout_status(before, [old, new], new, NOW)
    assert (get_condition(timed_out, "Progressing") or {}).get("reason") == TIMED_OUT
    moved = rollout_status(before, [old, rs("new", 1, 1, 1)], rs("new", 1, 1, 1), NOW)
    condition = get_condition(moved, "Progressing")
    assert condition is not None and condition["reason"] == "ReplicaSetUpdated"
    assert condition["lastTransitionTime"] == stale["lastTransitionTime"]
    assert condition["lastUpdateTime"] != stale["lastUpdateTime"]
    recent = deployment(status={"conditions": [new_condition("Progressing", "True",
                                                              "ReplicaSetUpdated", "", NOW)]})
    assert stuck_recheck_after(recent, moved, NOW) == 601.0


def test_set_condition_keeps_transition_time_for_same_status() -> None:
    status: Object = {}
    set_condition(status, new_condition("Available", "True", "A", "", NOW - 50))
    set_condition(status, new_condition("Available", "True", "B", "", NOW))
    assert len(status["conditions"]) == 1
    assert status["conditions"][0]["reason"] == "B"
    assert status["conditions"][0]["lastTransitionTime"] == "2023-11-14T22:12:30Z"


def test_replica_failure_is_copied_up() -> None:
    new = rs("new", 3, 0, 0)
    new["status"]["conditions"] = [{"type": "ReplicaFailure", "status": "True",
                                    "reason": "FailedCreate", "message": "quota",
                                    "lastTransitionTime": "2024-01-01T00:00:00Z"}]
    failure = get_condition(rollout_status(deployment(), [new], new, NOW), "ReplicaFailure")
    assert failure is not None and failure["message"] == "quota"


def test_rollback_bumps_revision_and_keeps_history() -> None:
    reused: Object = {"metadata": {"annotations": {REVISION: "1"}}}
    assert set_new_rs_annotations(deployment(), reused, 3, exists=True)
    annotations = reused["metadata"]["annotations"]
    assert (annotations[REVISION], annotations[REVISION_HISTORY], annotations["team"]) == (
        "3", "1", "a")
    assert not set_new_rs_annotations(deployment(), reused, 3, exists=True)


def test_new_replica_set_gets_size_annotations() -> None:
    fresh: Object = {"metadata": {}}
    set_new_rs_annotations(deployment(replicas=10), fresh, 1, exists=False)
    annotations = fresh["metadata"]["annotations"]
    assert annotations["deployment.kubernetes.io/desired-replicas"] == "10"
    assert annotations["deployment.kubernetes.io/max-replicas"] == "13"
    assert annotations[REVISION] == "1" and REVISION_HISTORY not in annotations
