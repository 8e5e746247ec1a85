"""A ReplicaSet's (or ReplicationController's) status, computed from the pods it controls.

kubernetes ``calculateStatus`` (``pkg/controller/replicaset/replica_set_utils.go``):
``replicas`` counts active controlled pods, ``fullyLabeledReplicas`` those that carry every
template label, ``readyReplicas`` the ready ones, ``availableReplicas`` those ready for
``minReadySeconds``. A failed create or delete sets the ``ReplicaFailure`` condition
(``FailedCreate``/``FailedDelete``), a clean pass removes it. Zero counts are omitted, as
the Go types' ``omitempty`` does.
"""

from __future__ import annotations

import copy
from typing import Any

from steersman.api.meta import now_rfc3339
from steersman.controllers.podstate import is_available, is_ready

Object = dict[str, Any]
REPLICA_FAILURE = "ReplicaFailure"


def spec_replicas(obj: Object) -> int:
    replicas = (obj.get("spec") or {}).get("replicas")
    return int(replicas) if isinstance(replicas, int) else 1


def min_ready_seconds(obj: Object) -> int:
    return int((obj.get("spec") or {}).get("minReadySeconds") or 0)


def template_labels(obj: Object) -> dict[str, str]:
    template = (obj.get("spec") or {}).get("template") or {}
    labels = (template.get("metadata") or {}).get("labels")
    return labels if isinstance(labels, dict) else {}


def calculate_status(owner: Object, pods: list[Object], *, failure: str | None,
                     now: float) -> Object:
    """The status ``owner`` should have, given its active pods and the last manage error."""
    status = copy.deepcopy(owner.get("status") or {})
    wanted_labels = template_labels(owner).items()
    min_ready = min_ready_seconds(owner)
    counts = {
        "replicas": len(pods),
        "fullyLabeledReplicas": sum(1 for p in pods if wanted_labels <= _labels(p).items()),
        "readyReplicas": sum(1 for p in pods if is_ready(p)),
        "availableReplicas": sum(1 for p in pods if is_available(p, min_ready, now)),
        "observedGeneration": int((owner.get("metadata") or {}).get("generation") or 0),
    }
    for field, value in counts.items():
        if value or field == "replicas":
            status[field] = value
        else:
            status.pop(field, None)
    _set_failure(status, failure, len(pods) - spec_replicas(owner), now)
    return status


def _labels(pod: Object) -> dict[str, str]:
    labels = (pod.get("metadata") or {}).get("labels")
    return labels if isinstance(labels, dict) else {}


def _set_failure(status: Object, failure: str | None, diff: int, now: float) -> None:
    conditions = [c for c in status.get("conditions") or [] if isinstance(c, dict)]
    current = next((c for c in conditions if c.get("type") == REPLICA_FAILURE), None)
    if failure is not None and current is None:
        reason = "FailedCreate" if diff < 0 else "FailedDelete"
        conditions.append({"type": REPLICA_FAILURE, "status": "True",
                           "lastTransitionTime": now_rfc3339(now), "reason": reason,
                           "message": failure})
    elif failure is None and current is not None:
        conditions.remove(current)
    if conditions:
        status["conditions"] = conditions
    else:
        status.pop("conditions", None)
