"""One step of a rolling update, as a pure function of the Deployment and its ReplicaSets.

kubernetes ``pkg/controller/deployment/rolling.go``. Each step either scales the new
ReplicaSet up (never beyond ``replicas + maxSurge`` pods in all, nor beyond ``replicas``
in the new ReplicaSet) or, if it cannot, scales old ReplicaSets down without going below
``replicas - maxUnavailable`` available pods: first the old pods that are not available
anyway (oldest ReplicaSet first), then available ones. A step returns the new sizes of
the ReplicaSets it changes, by name; an empty plan means the rollout waits for pods.
"""

from __future__ import annotations

from typing import Any

from steersman.controllers.deployment.fenceposts import (
    desired_replicas,
    max_unavailable,
    scaled_value,
    strategy_type,
)
from steersman.controllers.deployment.replicasets import (
    active,
    available_of,
    by_creation,
    name_of,
    replicas_of,
    total_available,
    total_replicas,
)

Object = dict[str, Any]
Plan = dict[str, int]


def new_rs_new_replicas(deployment: Object, all_rss: list[Object | None],
                        new_rs: Object) -> int:
    """``NewRSNewReplicas``: how big the new ReplicaSet may be now."""
    desired = desired_replicas(deployment)
    if strategy_type(deployment) != "RollingUpdate":
        return desired
    surge = scaled_value(_surge_setting(deployment), desired, round_up=True)
    current = total_replicas(all_rss)
    room = desired + surge - current
    if room <= 0:
        return replicas_of(new_rs)
    return replicas_of(new_rs) + min(room, desired - replicas_of(new_rs))


def _surge_setting(deployment: Object) -> int | str | None:
    strategy = (deployment.get("spec") or {}).get("strategy") or {}
    value = (strategy.get("rollingUpdate") or {}).get("maxSurge", "25%")
    return value if isinstance(value, int | str) else None


def new_rs_target(deployment: Object, all_rss: list[Object | None],
                  new_rs: Object) -> int | None:
    """``reconcileNewReplicaSet``: the new ReplicaSet's next size, ``None`` if unchanged."""
    desired, current = desired_replicas(deployment), replicas_of(new_rs)
    if current == desired:
        return None
    target = desired if current > desired else new_rs_new_replicas(deployment, all_rss, new_rs)
    return None if target == current else target


def old_rs_targets(deployment: Object, new_rs: Object, old_rss: list[Object]) -> Plan:
    """``reconcileOldReplicaSets``: new sizes for old ReplicaSets that may shrink now."""
    old_active = active(old_rss)
    if total_replicas(old_active) == 0:
        return {}
    min_available = desired_replicas(deployment) - max_unavailable(deployment)
    new_unavailable = replicas_of(new_rs) - available_of(new_rs)
    budget = total_replicas([*old_rss, new_rs]) - min_available - new_unavailable
    if budget <= 0:
        return {}
    plan = _cleanup_unhealthy(old_active, budget)
    sizes = {name_of(rs): plan.get(name_of(rs), replicas_of(rs)) for rs in old_active}
    available = total_available([*old_active, new_rs])
    plan.update(_scale_down_available(old_active, sizes, available - min_available))
    return plan


def _cleanup_unhealthy(old_rss: list[Object], budget: int) -> Plan:
    plan: Plan = {}
    removed = 0
    for rs in by_creation(old_rss):
        if removed >= budget:
            break
        unhealthy = replicas_of(rs) - available_of(rs)
        if replicas_of(rs) == 0 or unhealthy <= 0:
            continue
        count = min(budget - removed, unhealthy)
        plan[name_of(rs)] = replicas_of(rs) - count
        removed += count
    return plan


def _scale_down_available(old_rss: list[Object], sizes: dict[str, int], budget: int) -> Plan:
    plan: Plan = {}
    removed = 0
    for rs in by_creation(old_rss):
        size = sizes[name_of(rs)]
        if removed >= budget:
            break
        if size == 0:
            continue
        count = min(size, budget - removed)
        plan[name_of(rs)] = size - count
        removed += count
    return plan


def rolling_step(deployment: Object, new_rs: Object, old_rss: list[Object]) -> Plan:
    """The sizes one reconcile of a rolling update writes: scale up first, else down."""
    target = new_rs_target(deployment, [*old_rss, new_rs], new_rs)
    if target is not None:
        return {name_of(new_rs): target}
    return old_rs_targets(deployment, new_rs, old_rss)

