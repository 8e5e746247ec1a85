"""What controllers read from a pod's status: active, ready, available, restarts.

Follows kubernetes ``pkg/api/v1/pod/util.go`` (``IsPodReady``, ``IsPodAvailable``) and
``pkg/controller/controller_utils.go`` (``IsPodActive``). A pod is *ready* when its
``Ready`` condition is ``True``; it is *available* once it has been ready for
``minReadySeconds`` (measured from the condition's ``lastTransitionTime``). Timestamps are
RFC 3339 strings; times are seconds since the epoch, as the injected clock reads them.
"""

from __future__ import annotations

from typing import Any

from steersman.api.meta import parse_time

Object = dict[str, Any]


def status_of(pod: Object) -> dict[str, Any]:
    status = pod.get("status")
    return status if isinstance(status, dict) else {}


def phase_of(pod: Object) -> str:
    return str(status_of(pod).get("phase") or "")


def is_active(pod: Object) -> bool:
    """Neither finished nor being deleted: it counts towards a controller's replicas."""
    meta = pod.get("metadata") or {}
    return phase_of(pod) not in ("Succeeded", "Failed") and not meta.get("deletionTimestamp")


def ready_condition(pod: Object) -> Object | None:
    for condition in status_of(pod).get("conditions") or []:
        if isinstance(condition, dict) and condition.get("type") == "Ready":
            return condition
    return None


def is_ready(pod: Object) -> bool:
    condition = ready_condition(pod)
    return condition is not None and condition.get("status") == "True"


def timestamp(text: object) -> float | None:
    """Seconds since the epoch of an RFC 3339 string; ``None`` if absent or malformed."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return parse_time(text).timestamp()
    except ValueError:
        return None


def ready_since(pod: Object) -> float | None:
    """When the pod last became ready (``None`` if it is not ready or nobody said when)."""
    condition = ready_condition(pod)
    if condition is None or condition.get("status") != "True":
        return None
    return timestamp(condition.get("lastTransitionTime"))


def is_available(pod: Object, min_ready_seconds: int, now: float) -> bool:
    """Ready, and for ``min_ready_seconds`` already when that is set."""
    if not is_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    since = ready_since(pod)
    return since is not None and since + min_ready_seconds <= now


def seconds_until_available(pod: Object, min_ready_seconds: int, now: float) -> float | None:
    """For a ready pod not yet available: how long until it is (to look again then)."""
    since = ready_since(pod)
    if since is None or min_ready_seconds <= 0:
        return None
    remaining = since + min_ready_seconds - now
    return remaining if remaining > 0 else None


def max_restarts(pod: Object) -> int:
    """The highest restart count among the pod's containers."""
    statuses = status_of(pod).get("containerStatuses") or []
    return max((int(s.get("restartCount") or 0) for s in statuses if isinstance(s, dict)),
               default=0)
