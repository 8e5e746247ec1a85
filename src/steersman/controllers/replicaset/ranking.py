"""Which pods a ReplicaSet deletes first when it has too many.

kubernetes ``ActivePodsWithRanks`` (``pkg/controller/controller_utils.go``), in order:

1. unscheduled before scheduled;
2. Pending before Unknown before Running;
3. not ready before ready;
4. lower ``controller.kubernetes.io/pod-deletion-cost`` first;
5. more sibling pods on the same node first (doubled-up pods go first);
6. of two ready pods, the one ready for less time (on a logarithmic scale, as the
   ``LogarithmicScaleDown`` feature, on by default, compares them; ties by UID);
7. higher container restart counts first;
8. newer before older (creation time).
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from typing import Any

from steersman.api.meta import parse_time
from steersman.controllers.podstate import created_at, is_active, is_ready, phase, ready_condition

Object = dict[str, Any]
DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost"
_PHASE_ORDER = {"Pending": 0, "Unknown": 1, "Running": 2}


def pods_to_delete(pods: list[Object], count: int, *, now: float) -> list[Object]:
    """The ``count`` pods to delete first out of ``pods``."""
    if count >= len(pods):
        return list(pods)
    per_node = Counter(_node(p) for p in pods if is_active(p))
    ranked = [(pod, per_node[_node(pod)]) for pod in pods]

    def compare(a: tuple[Object, int], b: tuple[Object, int]) -> int:
        return compare_for_deletion(a[0], a[1], b[0], b[1], now=now)

    ranked.sort(key=functools.cmp_to_key(compare))
    return [pod for pod, _ in ranked[:count]]


def compare_for_deletion(a: Object, rank_a: int, b: Object, rank_b: int, *, now: float) -> int:
    """Negative when ``a`` should be deleted before ``b``, positive after, 0 when equal."""
    for key in _KEYS:
        left, right = key(a, rank_a, now), key(b, rank_b, now)
        if left != right:
            return -1 if left < right else 1
    return _ready_age_order(a, b, now) or _restart_order(a, b) or _creation_order(a, b)


def _node(pod: Object) -> str:
    return str((pod.get("spec") or {}).get("nodeName") or "")


def _scheduled(pod: Object, _rank: int, _now: float) -> int:
    return 1 if _node(pod) else 0


def _phase(pod: Object, _rank: int, _now: float) -> int:
    return _PHASE_ORDER.get(phase(pod), 0)


def _ready(pod: Object, _rank: int, _now: float) -> int:
    return 1 if is_ready(pod) else 0


def deletion_cost(pod: Object) -> int:
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    try:
        return int(annotations.get(DELETION_COST_ANNOTATION, 0))
    except (TypeError, ValueError):
        return 0


def _cost(pod: Object, _rank: int, _now: float) -> int:
    return deletion_cost(pod)


def _doubled_up(_pod: Object, rank: int, _now: float) -> int:
    return -rank


_KEYS = (_scheduled, _phase, _ready, _cost, _doubled_up)


def _log_rank(since: float, now: float) -> int:
    """``floor(log2(ready duration in ns))``, -1 for none (``logarithmicRankDiff``)."""
    nanos = (now - since) * 1e9
    return int(math.log2(nanos)) if nanos > 0 else -1


def _ready_age_order(a: Object, b: Object, now: float) -> int:
    since_a, since_b = ready_since(a), ready_since(b)
    if since_a is None or since_b is None or since_a == since_b:
        return 0
    diff = _log_rank(since_a, now) - _log_rank(since_b, now)
    if diff == 0:
        uid_a, uid_b = _uid(a), _uid(b)
        return (uid_a > uid_b) - (uid_a < uid_b)
    return -1 if diff < 0 else 1


def _uid(pod: Object) -> str:
    return str((pod.get("metadata") or {}).get("uid") or "")


def _restart_order(a: Object, b: Object) -> int:
    restarts_a, restarts_b = max_restarts(a), max_restarts(b)
    return (restarts_b > restarts_a) - (restarts_b < restarts_a)


def _creation_order(a: Object, b: Object) -> int:
    created_a, created_b = created_at(a), created_at(b)
    return (created_a < created_b) - (created_a > created_b)


def ready_since(pod: Object) -> float | None:
    """When a ready pod became ready (``None``: not ready, or nobody said when)."""
    condition = ready_condition(pod)
    since = condition.get("lastTransitionTime") if condition is not None else None
    if not is_ready(pod) or not since:
        return None
    return parse_time(str(since)).timestamp()


def max_restarts(pod: Object) -> int:
    """The highest restart count among the pod's containers."""
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return max((int(s.get("restartCount") or 0) for s in statuses), default=0)
