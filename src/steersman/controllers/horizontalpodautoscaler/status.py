"""The HPA's ``status``: conditions that keep their transition times, and the whole block.

Conditions as upstream sets them: ``AbleToScale`` (could the target's scale be read and
written; is the count stabilized), ``ScalingActive`` (could a count be computed from the
metrics; is scaling disabled), ``ScalingLimited`` (did min/max or a rate limit clamp it).
A condition's ``lastTransitionTime`` changes only when its ``status`` does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from steersman.api.meta import now_rfc3339

Object = dict[str, Any]
CONDITION_ORDER = ("AbleToScale", "ScalingActive", "ScalingLimited")


@dataclass(frozen=True)
class Condition:
    type: str
    status: bool
    reason: str
    message: str


def merge_conditions(previous: Sequence[Mapping[str, Any]], updates: Sequence[Condition],
                     now: float) -> list[Object]:
    """``previous`` with each update applied in order (the last update of a type wins)."""
    by_type = {str(c.get("type")): dict(c) for c in previous}
    for update in updates:
        old = by_type.get(update.type)
        status = "True" if update.status else "False"
        changed = old is None or old.get("status") != status
        by_type[update.type] = {
            "type": update.type, "status": status,
            "lastTransitionTime": now_rfc3339(now) if changed or old is None
            else old.get("lastTransitionTime"),
            "reason": update.reason, "message": update.message,
        }
    ordered = [by_type.pop(t) for t in CONDITION_ORDER if t in by_type]
    return ordered + list(by_type.values())


def new_status(hpa: Mapping[str, Any], *, current: int, desired: int,
               metrics: Sequence[Object], conditions: Sequence[Condition], rescaled: bool,
               now: float) -> Object:
    old = hpa.get("status") or {}
    status: Object = {}
    generation = (hpa.get("metadata") or {}).get("generation")
    if generation is not None:
        status["observedGeneration"] = generation
    last_scale = now_rfc3339(now) if rescaled else old.get("lastScaleTime")
    if last_scale:
        status["lastScaleTime"] = last_scale
    if current:
        status["currentReplicas"] = current
    status["desiredReplicas"] = desired
    if metrics:
        status["currentMetrics"] = list(metrics)
    status["conditions"] = merge_conditions(old.get("conditions") or [], conditions, now)
    return status
