"""Taints, tolerations and when a NoExecute taint evicts a pod (pure functions).

Matching is ``Toleration.ToleratesTaint`` (``k8s.io/api/core/v1``); the first toleration
that tolerates a taint is the one used, as ``GetMatchingTolerations``. A pod must go
at once when some NoExecute taint is not tolerated; otherwise when the earliest
``timeAdded + tolerationSeconds`` of its tolerated taints passes; never when none of the
used tolerations has ``tolerationSeconds``. Upstream's taint manager counts from when it
first saw the taint; counting from the taint's ``timeAdded`` gives the same moment and
survives a restart of the controller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

Object = dict[str, Any]
NO_EXECUTE = "NoExecute"
NO_SCHEDULE = "NoSchedule"
IMMEDIATELY = float("-inf")


def taints_of(node: Object, effect: str = NO_EXECUTE) -> list[Object]:
    return [t for t in (node.get("spec") or {}).get("taints") or []
            if isinstance(t, dict) and t.get("effect") == effect]


def tolerates(toleration: Object, taint: Object) -> bool:
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    return operator == "Equal" and (toleration.get("value") or "") == (taint.get("value") or "")


def matching_toleration(taint: Object, tolerations: Iterable[Object]) -> Object | None:
    return next((t for t in tolerations if tolerates(t, taint)), None)


def eviction_deadline(taints: Iterable[Object], tolerations: list[Object],
                      added_at: Callable[[Object], float]) -> float | None:
    """When the pod must be evicted: :data:`IMMEDIATELY`, a clock time, or ``None`` (never)."""
    deadlines: list[float] = []
    for taint in taints:
        toleration = matching_toleration(taint, tolerations)
        if toleration is None:
            return IMMEDIATELY
        seconds = toleration.get("tolerationSeconds")
        if seconds is not None:
            deadlines.append(added_at(taint) + max(int(seconds), 0))
    return min(deadlines, default=None)


def no_execute_changed(old: Object, new: Object) -> bool:
    def keyed(node: Object) -> list[tuple[str, str, str]]:
        return sorted((str(t.get("key")), str(t.get("value") or ""), str(t.get("timeAdded")))
                      for t in taints_of(node))
    return keyed(old) != keyed(new)
