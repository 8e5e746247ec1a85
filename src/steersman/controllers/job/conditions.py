"""Job conditions: whether a Job has finished, and setting one condition immutably.

A condition's ``lastTransitionTime`` moves only when its status changes, as upstream's
``updateConditionsIfChanged`` keeps it. Shared by the Job, TTL-after-finished and CronJob
controllers, which all ask :func:`finished`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steersman.api.meta import now_rfc3339, parse_time
from steersman.controllers.podstate import condition, condition_true

Object = dict[str, Any]
FINAL_CONDITIONS = ("Complete", "Failed")


def finished(job: Mapping[str, Any]) -> str:
    """``Complete`` or ``Failed`` when that condition is True, else ``""``."""
    return next((c for c in FINAL_CONDITIONS if condition_true(job, c)), "")


def finished_at(job: Mapping[str, Any]) -> float | None:
    """When the Job finished: its final condition's transition (or ``completionTime``)."""
    kind = finished(job)
    if not kind:
        return None
    found = condition(job, kind) or {}
    text = found.get("lastTransitionTime") or (job.get("status") or {}).get("completionTime")
    return parse_time(str(text)).timestamp() if text else None


def with_condition(status: Mapping[str, Any], kind: str, *, reason: str, message: str,
                   now: float, value: str = "True") -> Object:
    stamp = now_rfc3339(now)
    conditions = [dict(c) for c in status.get("conditions") or ()]
    for existing in conditions:
        if existing.get("type") == kind:
            if existing.get("status") != value:
                existing["lastTransitionTime"] = stamp
            existing.update(status=value, reason=reason, message=message, lastProbeTime=stamp)
            return {**status, "conditions": conditions}
    conditions.append({"type": kind, "status": value, "reason": reason, "message": message,
                       "lastProbeTime": stamp, "lastTransitionTime": stamp})
    return {**status, "conditions": conditions}
