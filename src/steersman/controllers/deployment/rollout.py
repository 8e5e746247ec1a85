"""The Deployment controller's decision flow for one pass (kubernetes ``syncDeployment``).

In order: a paused or resumed Deployment gets its ``Progressing`` condition said so; a
paused one, or one whose size changed (a ReplicaSet's ``desired-replicas`` differs from
``spec.replicas``), is only resized (:func:`sync_size`); otherwise the strategy runs —
:func:`rollout_rolling` (one :func:`~.rolling.rolling_step` per pass) or
:func:`rollout_recreate` (old pods all gone before the new ReplicaSet is created). Each
ends by writing the status; the returned number is when to look again for the progress
deadline (``None``: no need).
"""

from __future__ import annotations

import copy
from typing import Any

from steersman.controllers.deployment.fenceposts import desired_replicas
from steersman.controllers.deployment.progress import (
    PAUSED,
    PROGRESSING,
    RESUMED,
    TIMED_OUT,
    calculate_status,
    get_condition,
    has_progress_deadline,
    is_complete,
    new_condition,
    rollout_status,
    set_condition,
    status_of,
    stuck_recheck_after,
)
from steersman.controllers.deployment.replicasets import active, name_of, total_actual
from steersman.controllers.deployment.revisions import DESIRED_REPLICAS, int_annotation
from steersman.controllers.deployment.rolling import rolling_step
from steersman.controllers.deployment.scaling import scale_plan
from steersman.controllers.deployment.sync import DeploymentSync
from steersman.controllers.podstate import phase

Object = dict[str, Any]


def is_paused(deployment: Object) -> bool:
    return bool((deployment.get("spec") or {}).get("paused"))


async def check_paused_conditions(sync: DeploymentSync) -> None:
    """Record a pause or resume in the ``Progressing`` condition (unless timed out)."""
    deployment = sync.deployment
    if not has_progress_deadline(deployment):
        return
    current = get_condition(status_of(deployment), PROGRESSING)
    if current is not None and current.get("reason") == TIMED_OUT:
        return
    reported = current is not None and current.get("reason") == PAUSED
    if is_paused(deployment) == reported:
        return
    reason, message = ((PAUSED, "Deployment is paused") if is_paused(deployment)
                       else (RESUMED, "Deployment is resumed"))
    status = copy.deepcopy(status_of(deployment))
    set_condition(status, new_condition(PROGRESSING, "Unknown", reason, message,
                                        sync.clock.now()))
    await sync.write_status(status)


async def is_scaling_event(sync: DeploymentSync) -> bool:
    new, old = await sync.new_and_old(create=False)
    desired = desired_replicas(sync.deployment)
    return any(int_annotation(rs, DESIRED_REPLICAS) not in (None, desired)
               for rs in active([*old, new]))


async def sync_size(sync: DeploymentSync) -> float | None:
    """``sync``: resize the ReplicaSets (no rollout progress), then write the status."""
    new, old = await sync.new_and_old(create=False)
    await sync.apply(scale_plan(sync.deployment, new, old))
    if is_paused(sync.deployment):
        await sync.cleanup(old)
    latest_new = sync.current(new) if new is not None else None
    all_rss: list[Object | None] = [sync.current(rs) for rs in old]
    all_rss.append(latest_new)
    await sync.write_status(calculate_status(sync.deployment, all_rss, latest_new,
                                             sync.clock.now()))
    return None


async def status_only(sync: DeploymentSync) -> float | None:
    """A Deployment being deleted: report, change nothing."""
    new, old = await sync.new_and_old(create=False)
    all_rss: list[Object | None] = [*old, new]
    await sync.write_status(calculate_status(sync.deployment, all_rss, new, sync.clock.now()))
    return None


async def finish(sync: DeploymentSync, new: Object | None, old: list[Object]) -> float | None:
    """``syncRolloutStatus``: write the status; when to look again for the deadline."""
    latest_new = sync.current(new) if new is not None else None
    all_rss: list[Object | None] = [sync.current(rs) for rs in old]
    all_rss.append(latest_new)
    now = sync.clock.now()
    before = sync.deployment
    status = rollout_status(before, all_rss, latest_new, now)
    await sync.write_status(status)
    return stuck_recheck_after(before, status, now)


async def rollout_rolling(sync: DeploymentSync) -> float | None:
    new, old = await sync.new_and_old(create=True)
    assert new is not None
    if await sync.apply(rolling_step(sync.deployment, new, old)):
        return await finish(sync, new, old)
    if is_complete(sync.deployment, status_of(sync.deployment)):
        await sync.cleanup(old)
    return await finish(sync, new, old)


def old_pods_running(new: Object | None, old: list[Object],
                     pods_by_rs: dict[str, list[Object]]) -> bool:
    """Whether any pod of an old ReplicaSet may still run (finished pods do not count)."""
    if total_actual(old) > 0:
        return True
    new_uid = str((new or {}).get("metadata", {}).get("uid") or "")
    return any(phase(pod) not in ("Succeeded", "Failed")
               for uid, pods in pods_by_rs.items() if uid != new_uid for pod in pods)


async def rollout_recreate(sync: DeploymentSync,
                           pods_by_rs: dict[str, list[Object]]) -> float | None:
    new, old = await sync.new_and_old(create=False)
    if await sync.apply({name_of(rs): 0 for rs in active(old)}):
        return await finish(sync, new, old)
    if old_pods_running(new, [sync.current(rs) for rs in old], pods_by_rs):
        return await finish(sync, new, old)
    if new is None:
        new, old = await sync.new_and_old(create=True)
        assert new is not None
    await sync.scale(new, desired_replicas(sync.deployment))
    if is_complete(sync.deployment, status_of(sync.deployment)):
        await sync.cleanup(old)
    return await finish(sync, new, old)


async def sync_deployment(sync: DeploymentSync,
                          pods_by_rs: dict[str, list[Object]]) -> float | None:
    """The whole decision for one Deployment."""
    if (sync.deployment.get("metadata") or {}).get("deletionTimestamp"):
        return await status_only(sync)
    await check_paused_conditions(sync)
    if is_paused(sync.deployment) or await is_scaling_event(sync):
        return await sync_size(sync)
    if (sync.deployment.get("spec") or {}).get("strategy", {}).get("type") == "Recreate":
        return await rollout_recreate(sync, pods_by_rs)
    return await rollout_rolling(sync)
