"""A Deployment's status and conditions, computed from its ReplicaSets.

kubernetes ``sync.go`` (``calculateStatus``) and ``progress.go`` (``syncRolloutStatus``),
with ``deploymentutil``'s condition helpers:

* counts: ``replicas``/``readyReplicas``/``availableReplicas`` over every ReplicaSet,
  ``updatedReplicas`` of the new one, ``unavailableReplicas`` against what is asked for;
* ``Available``: ``MinimumReplicasAvailable`` once ``replicas - maxUnavailable`` pods are
  available, else ``MinimumReplicasUnavailable``;
* ``Progressing`` (with a progress deadline): ``NewReplicaSetAvailable`` when the rollout is
  complete, ``ReplicaSetUpdated`` on progress (its ``lastUpdateTime`` moves),
  ``ProgressDeadlineExceeded`` when nothing moved for ``progressDeadlineSeconds``;
* a ``ReplicaFailure`` of the ReplicaSets (the new one's first) is copied up.

All pure; :func:`stuck_recheck_after` says when to look again for the deadline.
"""

from __future__ import annotations

import copy
from typing import Any

from steersman.api.meta import now_rfc3339, parse_time
from steersman.controllers.deployment.fenceposts import desired_replicas, max_unavailable
from steersman.controllers.deployment.replicasets import (
    actual_of,
    total_actual,
    total_available,
    total_ready,
    total_replicas,
)

Object = dict[str, Any]
PROGRESSING, AVAILABLE, REPLICA_FAILURE = "Progressing", "Available", "ReplicaFailure"
NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
RS_UPDATED = "ReplicaSetUpdated"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
FAILED_RS_CREATE = "ReplicaSetCreateError"
PAUSED, RESUMED = "DeploymentPaused", "DeploymentResumed"
NO_DEADLINE = 2**31 - 1


def timestamp(text: object) -> float | None:
    """Seconds since the epoch of an RFC 3339 string (``None`` if absent or malformed)."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return parse_time(text).timestamp()
    except ValueError:
        return None


def status_of(obj: Object) -> Object:
    status = obj.get("status")
    return status if isinstance(status, dict) else {}


def has_progress_deadline(deployment: Object) -> bool:
    deadline = (deployment.get("spec") or {}).get("progressDeadlineSeconds")
    return isinstance(deadline, int) and deadline != NO_DEADLINE


def new_condition(kind: str, status: str, reason: str, message: str, now: float) -> Object:
    stamp = now_rfc3339(now)
    return {"type": kind, "status": status, "lastUpdateTime": stamp,
            "lastTransitionTime": stamp, "reason": reason, "message": message}


def get_condition(status: Object, kind: str) -> Object | None:
    for condition in status.get("conditions") or []:
        if isinstance(condition, dict) and condition.get("type") == kind:
            return condition
    return None


def set_condition(status: Object, condition: Object) -> None:
    """Add or replace; same status and reason is no change; same status keeps its
    ``lastTransitionTime``."""
    current = get_condition(status, condition["type"])
    if current is not None and (current.get("status"), current.get("reason")) == (
            condition["status"], condition["reason"]):
        return
    if current is not None and current.get("status") == condition["status"]:
        condition = {**condition, "lastTransitionTime": current.get("lastTransitionTime")}
    remove_condition(status, condition["type"])
    status["conditions"] = [*status.get("conditions", []), condition]


def remove_condition(status: Object, kind: str) -> None:
    kept = [c for c in status.get("conditions") or [] if c.get("type") != kind]
    if kept:
        status["conditions"] = kept
    else:
        status.pop("conditions", None)


def calculate_status(deployment: Object, all_rss: list[Object | None],
                     new_rs: Object | None, now: float) -> Object:
    available = total_available(all_rss)
    current = status_of(deployment)
    counts = {
        "observedGeneration": int((deployment.get("metadata") or {}).get("generation") or 0),
        "replicas": total_actual(all_rss),
        "updatedReplicas": actual_of(new_rs),
        "readyReplicas": total_ready(all_rss),
        "availableReplicas": available,
        "unavailableReplicas": max(total_replicas(all_rss) - available, 0),
    }
    status: Object = {key: value for key, value in counts.items() if value}
    if current.get("collisionCount") is not None:
        status["collisionCount"] = current["collisionCount"]
    if current.get("conditions"):
        status["conditions"] = copy.deepcopy(current["conditions"])
    if available >= desired_replicas(deployment) - max_unavailable(deployment):
        set_condition(status, new_condition(AVAILABLE, "True", "MinimumReplicasAvailable",
                                            "Deployment has minimum availability.", now))
    else:
        set_condition(status, new_condition(AVAILABLE, "False", "MinimumReplicasUnavailable",
                                            "Deployment does not have minimum availability.",
                                            now))
    return status


def is_complete(deployment: Object, status: Object) -> bool:
    """``DeploymentComplete``: every replica updated and available, generation observed."""
    desired = desired_replicas(deployment)
    generation = int((deployment.get("metadata") or {}).get("generation") or 0)
    return bool(status.get("updatedReplicas", 0) == desired
                and status.get("replicas", 0) == desired
                and status.get("availableReplicas", 0) == desired
                and status.get("observedGeneration", 0) >= generation)


def is_progressing(deployment: Object, status: Object) -> bool:
    """``DeploymentProgressing``: more updated, ready or available pods, or fewer old."""
    old = status_of(deployment)

    def old_pods(s: Object) -> int:
        return int(s.get("replicas", 0)) - int(s.get("updatedReplicas", 0))

    return bool(status.get("updatedReplicas", 0) > old.get("updatedReplicas", 0)
            or old_pods(status) < old_pods(old)
            or status.get("readyReplicas", 0) > old.get("readyReplicas", 0)
            or status.get("availableReplicas", 0) > old.get("availableReplicas", 0))


def deadline_seconds(deployment: Object) -> int:
    return int((deployment.get("spec") or {}).get("progressDeadlineSeconds") or 0)


def is_timed_out(deployment: Object, status: Object, now: float) -> bool:
    condition = get_condition(status, PROGRESSING)
    if not has_progress_deadline(deployment) or condition is None:
        return False
    if condition.get("reason") == NEW_RS_AVAILABLE:
        return False
    if condition.get("reason") == TIMED_OUT:
        return True
    updated = timestamp(condition.get("lastUpdateTime"))
    return updated is not None and updated + deadline_seconds(deployment) < now


def _subject(deployment: Object, new_rs: Object | None) -> str:
    if new_rs is not None:
        return f'ReplicaSet "{(new_rs.get("metadata") or {}).get("name")}"'
    return f'Deployment "{(deployment.get("metadata") or {}).get("name")}"'


def _progress_condition(deployment: Object, status: Object, new_rs: Object | None,
                        now: float) -> None:
    subject = _subject(deployment, new_rs)
    if is_complete(deployment, status):
        set_condition(status, new_condition(PROGRESSING, "True", NEW_RS_AVAILABLE,
                                            f"{subject} has successfully progressed.", now))
    elif is_progressing(deployment, status):
        condition = new_condition(PROGRESSING, "True", RS_UPDATED,
                                  f"{subject} is progressing.", now)
        current = get_condition(status_of(deployment), PROGRESSING)
        if current is not None and current.get("status") == "True":
            condition["lastTransitionTime"] = current.get("lastTransitionTime")
        remove_condition(status, PROGRESSING)
        set_condition(status, condition)
    elif is_timed_out(deployment, status, now):
        set_condition(status, new_condition(PROGRESSING, "False", TIMED_OUT,
                                            f"{subject} has timed out progressing.", now))


def replica_failure(all_rss: list[Object | None], new_rs: Object | None) -> Object | None:
    """The first ``ReplicaFailure`` of the new ReplicaSet, else of any ReplicaSet."""
    for rs in [new_rs, *all_rss]:
        for condition in status_of(rs or {}).get("conditions") or []:
            if condition.get("type") == REPLICA_FAILURE:
                return {"type": REPLICA_FAILURE, "status": condition.get("status"),
                        "lastUpdateTime": condition.get("lastTransitionTime"),
                        "lastTransitionTime": condition.get("lastTransitionTime"),
                        "reason": condition.get("reason"), "message": condition.get("message")}
    return None


def rollout_status(deployment: Object, all_rss: list[Object | None], new_rs: Object | None,
                   now: float) -> Object:
    """``syncRolloutStatus``: the status to write after a rollout step."""
    status = calculate_status(deployment, all_rss, new_rs, now)
    if not has_progress_deadline(deployment):
        remove_condition(status, PROGRESSING)
    current = get_condition(status_of(deployment), PROGRESSING)
    settled = (status.get("replicas", 0) == status.get("updatedReplicas", 0)
               and current is not None and current.get("reason") == NEW_RS_AVAILABLE)
    if has_progress_deadline(deployment) and not settled:
        _progress_condition(deployment, status, new_rs, now)
    failure = replica_failure(all_rss, new_rs)
    if failure is not None:
        set_condition(status, failure)
    else:
        remove_condition(status, REPLICA_FAILURE)
    return status


def stuck_recheck_after(deployment: Object, status: Object, now: float) -> float | None:
    """``requeueStuckDeployment``: seconds until the deadline could pass, if it can."""
    current = get_condition(status_of(deployment), PROGRESSING)
    if not has_progress_deadline(deployment) or current is None:
        return None
    if is_complete(deployment, status) or current.get("reason") == TIMED_OUT:
        return None
    updated = timestamp(current.get("lastUpdateTime")) or now
    return max(updated + deadline_seconds(deployment) - now, 0.0) + 1.0
