"""Resizing a Deployment: which ReplicaSets take the new replicas, or give them back.

kubernetes ``DeploymentController.scale`` (``sync.go``) and ``GetProportion``: with one
active ReplicaSet (or none) it simply takes the Deployment's size; a saturated new
ReplicaSet means the old ones go to 0; in the middle of a rolling update the difference
between ``replicas + maxSurge`` and the pods asked for today is spread over the active
ReplicaSets in proportion to their size (from the ``max-replicas`` annotation each one
was last scaled under), largest first, leftovers to the largest. A plan maps ReplicaSet
names to the sizes to write (the writer also refreshes their size annotations).
"""

from __future__ import annotations

import math
from typing import Any

from steersman.controllers.deployment.fenceposts import (
    desired_replicas,
    is_rolling_update,
    max_surge,
)
from steersman.controllers.deployment.replicasets import (
    active,
    available_of,
    by_creation,
    by_size_newer_first,
    by_size_older_first,
    name_of,
    replicas_of,
    total_replicas,
)
from steersman.controllers.deployment.revisions import (
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    int_annotation,
)

Object = dict[str, Any]
Plan = dict[str, int]


def find_active_or_latest(new_rs: Object | None, old_rss: list[Object]) -> Object | None:
    """The only active ReplicaSet; with none active the new one, else the newest old one."""
    if new_rs is None and not old_rss:
        return None
    newest_first = list(reversed(by_creation(old_rss)))
    running = active([*newest_first, new_rs])
    if len(running) == 1:
        return running[0]
    if running:
        return None
    return new_rs if new_rs is not None else newest_first[0]


def is_saturated(deployment: Object, rs: Object | None) -> bool:
    if rs is None:
        return False
    desired = desired_replicas(deployment)
    return (replicas_of(rs) == desired and int_annotation(rs, DESIRED_REPLICAS) == desired
            and available_of(rs) == desired)


def round_half_away(value: float) -> int:
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


def _fraction(rs: Object, deployment: Object) -> int:
    desired = desired_replicas(deployment)
    if desired == 0:
        return -replicas_of(rs)
    max_replicas = desired + max_surge(deployment)
    before = int_annotation(rs, MAX_REPLICAS)
    if not before:
        before = int((deployment.get("status") or {}).get("replicas") or 0)
        if before == 0:
            return 0
    return round_half_away(replicas_of(rs) * max_replicas / before) - replicas_of(rs)


def proportion(rs: Object, deployment: Object, to_add: int, added: int) -> int:
    """``GetProportion``: this ReplicaSet's share of ``to_add``, ``added`` given out so far."""
    if replicas_of(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    fraction, allowed = _fraction(rs, deployment), to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def proportional_plan(deployment: Object, new_rs: Object | None,
                      old_rss: list[Object]) -> Plan:
    """Sizes for every active ReplicaSet when a rolling Deployment is resized mid-rollout."""
    running = active([*old_rss, new_rs])
    desired = desired_replicas(deployment)
    allowed = desired + max_surge(deployment) if desired > 0 else 0
    to_add = allowed - total_replicas(running)
    ordered = by_size_newer_first(running) if to_add > 0 else by_size_older_first(running)
    sizes: Plan = {}
    added = 0
    for rs in ordered:
        share = proportion(rs, deployment, to_add, added)
        sizes[name_of(rs)] = replicas_of(rs) + share
        added += share
    if ordered and to_add != 0:
        largest = name_of(ordered[0])
        sizes[largest] = max(sizes[largest] + to_add - added, 0)
    return sizes


def scale_plan(deployment: Object, new_rs: Object | None, old_rss: list[Object]) -> Plan:
    """What ``scale`` writes for a Deployment whose size changed (or that is paused)."""
    only = find_active_or_latest(new_rs, old_rss)
    if only is not None:
        desired = desired_replicas(deployment)
        return {} if replicas_of(only) == desired else {name_of(only): desired}
    if is_saturated(deployment, new_rs):
        return {name_of(rs): 0 for rs in active(old_rss)}
    if is_rolling_update(deployment):
        return proportional_plan(deployment, new_rs, old_rss)
    return {}
