"""The eviction subresource's budget check: an eviction spends one of a budget's disruptions.

Upstream ``pkg/registry/core/pod/storage/eviction.go``. A pod that is finished, pending or
already being deleted is evicted without a budget. Otherwise at most one
PodDisruptionBudget may cover it (more is a 500, as upstream). A pod that is not Ready may
go when the budget's ``unhealthyPodEvictionPolicy`` is ``AlwaysAllow``, or when the budget
is satisfied anyway (``currentHealthy >= desiredHealthy > 0``). For a healthy pod the
budget's status must be current (``observedGeneration``) and allow a disruption, which is
then spent: ``disruptionsAllowed`` goes down by one and the pod is recorded in
``status.disruptedPods`` (so the disruption controller does not count it healthy while it
goes), in one optimistic status write. A budget that allows none answers 429
"Cannot evict pod as it would violate the pod's disruption budget.", as does a status
write that keeps conflicting.
"""

from __future__ import annotations

from typing import Any

from steersman.api import errors
from steersman.api.resources import ResourceInfo
from steersman.api.selectors import selector_from_label_selector_spec
from steersman.apiserver.generic import GenericRegistry

Object = dict[str, Any]
VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget."
MAX_DISRUPTED_PODS = 2000


def ignores_budgets(pod: Object) -> bool:
    """``canIgnorePDB``: the pod is not running, or already on its way out."""
    phase = (pod.get("status") or {}).get("phase")
    return phase in ("Succeeded", "Failed", "Pending") or bool(
        pod["metadata"].get("deletionTimestamp"))


def _is_ready(pod: Object) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def _violation(detail: str, retry_after: int = 0) -> errors.StatusError:
    """429 with a ``DisruptionBudget`` cause. Without ``retry_after`` there is no Retry-After
    header: client-go would otherwise retry silently, and kubectl drain could not report."""
    details: Object = {"causes": [{"reason": "DisruptionBudget", "message": detail}]}
    headers = {}
    if retry_after:
        details["retryAfterSeconds"] = retry_after
        headers["Retry-After"] = str(retry_after)
    return errors.StatusError(429, "TooManyRequests", VIOLATION, details, headers)


class EvictionBudgets:
    """Checks, and spends, the disruption budget covering a pod about to be evicted."""

    def __init__(self, registry: GenericRegistry) -> None:
        self._registry = registry
        self._info = registry.resources.get("policy", "v1", "poddisruptionbudgets")

    async def spend(self, pod: Object, *, dry_run: bool) -> None:
        """Return if the pod may go (one disruption spent); raise a Status error if not."""
        if self._info is None or ignores_budgets(pod):
            return
        budgets = self._covering(pod)
        if not budgets:
            return
        if len(budgets) > 1:
            raise errors.internal_error("This pod has more than one PodDisruptionBudget, "
                                        "which the eviction subresource does not support.")
        if not _is_ready(pod) and _unhealthy_may_go(budgets[0]):
            return
        await self._decrement(self._info, budgets[0], pod["metadata"]["name"], dry_run)

    def _covering(self, pod: Object) -> list[Object]:
        assert self._info is not None
        labels = pod["metadata"].get("labels") or {}
        return [pdb for pdb in self._registry.objects(self._info, pod["metadata"]["namespace"])
                if selector_from_label_selector_spec(
                    (pdb.get("spec") or {}).get("selector")).matches(labels)]

    async def _decrement(self, info: ResourceInfo, pdb: Object, pod_name: str,
                         dry_run: bool) -> None:
        meta = pdb["metadata"]

        def spend_one(current: Object) -> Object:
            status = current.setdefault("status", {})
            _check_allows(current)
            status["disruptionsAllowed"] = int(status.get("disruptionsAllowed") or 0) - 1
            if status["disruptionsAllowed"] == 0:
                _mark_insufficient(status, self._registry.now())
            disrupted = dict(status.get("disruptedPods") or {})
            disrupted[pod_name] = self._registry.now()
            status["disruptedPods"] = disrupted
            return current

        try:
            await self._registry.guaranteed_update(info, meta["namespace"], meta["name"],
                                                   spend_one, subresource="status",
                                                   dry_run=dry_run)
        except errors.StatusError as err:
            if err.code != 409:
                raise
            raise _violation(f"couldn't update PodDisruptionBudget {meta['name']!r} "
                             f"due to conflicts", 1) from err


def _unhealthy_may_go(pdb: Object) -> bool:
    if (pdb.get("spec") or {}).get("unhealthyPodEvictionPolicy") == "AlwaysAllow":
        return True
    status = pdb.get("status") or {}
    desired = int(status.get("desiredHealthy") or 0)
    return desired > 0 and int(status.get("currentHealthy") or 0) >= desired


def _check_allows(pdb: Object) -> None:
    meta, status = pdb["metadata"], pdb.get("status") or {}
    if int(status.get("observedGeneration") or 0) < int(meta.get("generation") or 0):
        raise _violation(f"The disruption budget {meta['name']} is still being "
                         f"processed by the server.", 10)
    allowed = int(status.get("disruptionsAllowed") or 0)
    if allowed < 0:
        raise errors.StatusError(403, "Forbidden", f'poddisruptionbudgets.policy '
                                 f'"{meta["name"]}" is forbidden: pdb disruptions allowed '
                                 f'is negative')
    if len(status.get("disruptedPods") or {}) > MAX_DISRUPTED_PODS:
        raise errors.StatusError(403, "Forbidden", f'poddisruptionbudgets.policy '
                                 f'"{meta["name"]}" is forbidden: DisruptedPods map too big - '
                                 f'too many evictions not confirmed by PDB controller')
    if allowed == 0:
        raise _violation(f"The disruption budget {meta['name']} needs "
                         f"{int(status.get('desiredHealthy') or 0)} healthy pods and has "
                         f"{int(status.get('currentHealthy') or 0)} currently")


def _mark_insufficient(status: Object, now: str) -> None:
    conditions = [dict(c) for c in status.get("conditions") or []]
    for condition in conditions:
        if condition.get("type") == "DisruptionAllowed" and condition.get("status") != "False":
            condition.update(status="False", reason="InsufficientPods", lastTransitionTime=now)
    status["conditions"] = conditions
