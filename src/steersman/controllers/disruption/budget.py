"""A PodDisruptionBudget's status from its pods and their controllers' scale (pure functions).

Upstream ``pkg/controller/disruption/disruption.go``:

* ``minAvailable`` as a number: ``desiredHealthy`` is that number and ``expectedPods`` the
  number of selected pods; ``maxUnavailable`` (number or percentage) and a percentage
  ``minAvailable`` are taken of the summed scale of the pods' controllers (rounded up);
* healthy pods are Ready, not being deleted, and not recently evicted: the eviction API
  writes each evicted pod into ``status.disruptedPods``; an entry is dropped when its pod is
  gone or being deleted, or after :data:`DELETION_TIMEOUT` (the eviction never happened);
* ``disruptionsAllowed = max(currentHealthy - desiredHealthy, 0)`` (0 when no pods are
  expected), reported as the ``DisruptionAllowed`` condition; when the expectation cannot
  be computed, the budget fails safe to 0 with reason ``SyncFailed``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from steersman.api.meta import now_rfc3339, parse_time
from steersman.controllers.podstate import is_ready, is_terminating

Object = dict[str, Any]
DELETION_TIMEOUT = 120.0
CONDITION = "DisruptionAllowed"


@dataclass(frozen=True)
class Expectation:
    expected_pods: int
    desired_healthy: int


def scaled_value(value: int | str, total: int) -> int:
    """``GetScaledValueFromIntOrPercent`` rounding up; a malformed percentage is a ValueError."""
    if isinstance(value, int):
        return value
    if not value.endswith("%"):
        raise ValueError(f"invalid value for IntOrString: invalid value {value!r}: "
                         f"not a percentage")
    return math.ceil(int(value[:-1]) * total / 100)


def needs_scale(spec: Mapping[str, Any]) -> bool:
    """Whether the budget is relative to its controllers' scale."""
    return spec.get("maxUnavailable") is not None or isinstance(spec.get("minAvailable"), str)


def expectation(spec: Mapping[str, Any], pod_count: int, scale: int) -> Expectation:
    """Expected pods and how many must stay healthy (``scale`` used when it matters)."""
    max_unavailable = spec.get("maxUnavailable")
    if max_unavailable is not None:
        return Expectation(scale, max(scale - scaled_value(max_unavailable, scale), 0))
    min_available = spec.get("minAvailable")
    if isinstance(min_available, str):
        return Expectation(scale, scaled_value(min_available, scale))
    if min_available is not None:
        return Expectation(pod_count, int(min_available))
    return Expectation(0, 0)


def live_disruptions(recorded: Mapping[str, str], pods: Iterable[Object],
                     now: float) -> tuple[dict[str, str], float | None]:
    """The ``disruptedPods`` entries still pending, and seconds until the first expires."""
    alive = {pod["metadata"]["name"] for pod in pods if not is_terminating(pod)}
    kept: dict[str, str] = {}
    expiries: list[float] = []
    for name, when in recorded.items():
        expires = parse_time(when).timestamp() + DELETION_TIMEOUT
        if name in alive and expires > now:
            kept[name] = when
            expiries.append(expires - now)
    return kept, min(expiries, default=None)


def current_healthy(pods: Iterable[Object], disrupted: Mapping[str, str]) -> int:
    return sum(1 for pod in pods if is_ready(pod) and not is_terminating(pod)
               and pod["metadata"]["name"] not in disrupted)


def budget_status(pdb: Object, *, healthy: int, expected: Expectation,
                  disrupted: Mapping[str, str], now: float) -> Object:
    allowed = healthy - expected.desired_healthy
    if expected.expected_pods <= 0 or allowed < 0:
        allowed = 0
    status: Object = {
        "observedGeneration": int(pdb["metadata"].get("generation") or 0),
        "disruptionsAllowed": allowed, "currentHealthy": healthy,
        "desiredHealthy": expected.desired_healthy, "expectedPods": expected.expected_pods,
    }
    if disrupted:
        status["disruptedPods"] = dict(disrupted)
    reason = "SufficientPods" if allowed > 0 else "InsufficientPods"
    status["conditions"] = [allowed_condition(pdb, status, reason, "", now)]
    return status


def failed_status(pdb: Object, message: str, now: float) -> Object:
    """``failSafe``: the last status with no disruptions allowed and reason SyncFailed."""
    status: Object = {**(pdb.get("status") or {}), "disruptionsAllowed": 0}
    status["conditions"] = [allowed_condition(pdb, status, "SyncFailed", message, now)]
    return status


def allowed_condition(pdb: Object, status: Mapping[str, Any], reason: str, message: str,
                      now: float) -> Object:
    """The ``DisruptionAllowed`` condition; its transition time moves only with its status."""
    value = "True" if reason == "SufficientPods" else "False"
    old: Mapping[str, Any] = next((c for c in (pdb.get("status") or {}).get("conditions") or []
                if c.get("type") == CONDITION), {})
    changed = old.get("status") != value
    return {"type": CONDITION, "status": value, "reason": reason, "message": message,
            "observedGeneration": int(status.get("observedGeneration") or 0),
            "lastTransitionTime": now_rfc3339(now) if changed or not old.get(
                "lastTransitionTime") else old["lastTransitionTime"]}
