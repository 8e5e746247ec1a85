"""The disruption controller: keeps every PodDisruptionBudget's status current.

Keys are budgets. Budget events enqueue the budget; pod events enqueue the budgets of the
pod's namespace whose selector matches the pod (before or after the change). ``reconcile``
reads the selected pods from the cache, the controllers' scale from the API when the
budget is relative to it (:mod:`.scale`), computes the status (:mod:`.budget`) and writes
it when it changed. The eviction subresource relies on ``disruptionsAllowed`` being right.
"""

from __future__ import annotations

import logging
from typing import Any

from steersman.api.errors import StatusError
from steersman.api.selectors import SelectorError, selector_from_label_selector_spec
from steersman.client import NAMESPACE_INDEX, PDBS, PODS, Client, Clock
from steersman.controllers.disruption import budget
from steersman.controllers.disruption.scale import ScaleLookupError, total_scale
from steersman.controllers.runtime import InformerFactory, QueueController, split_key

log = logging.getLogger(__name__)
Object = dict[str, Any]
_RETRY_FAILED = 15.0


def selects(pdb: Object, pod: Object) -> bool:
    try:
        selector = selector_from_label_selector_spec((pdb.get("spec") or {}).get("selector"))
    except SelectorError:
        return False
    return selector.matches((pod.get("metadata") or {}).get("labels") or {})


class DisruptionController(QueueController):
    name = "disruption"
    workers = 2

    def __init__(self, client: Client, *, clock: Clock | None = None) -> None:
        super().__init__(client, clock=clock)

    def setup(self, factory: InformerFactory) -> None:
        self._budgets = factory.informer(PDBS)
        self._pods = factory.informer(PODS)
        self._budgets.add_handlers(on_add=self.enqueue, on_update=lambda _, new: self.enqueue(new))
        self._pods.add_handlers(on_add=self._pod_changed, on_update=self._pod_updated,
                                on_delete=self._pod_changed)

    def _pod_changed(self, pod: Object) -> None:
        self._pod_updated(pod, pod)

    def _pod_updated(self, old: Object, new: Object) -> None:
        namespace = (new.get("metadata") or {}).get("namespace") or ""
        for pdb in self._budgets.indexer.by_index(NAMESPACE_INDEX, namespace):
            if selects(pdb, old) or selects(pdb, new):
                self.enqueue(pdb)

    async def reconcile(self, key: str) -> float | None:
        pdb = self._budgets.indexer.get(key)
        if pdb is None:
            return None
        namespace, _ = split_key(key)
        pods = [pod for pod in self._pods.indexer.by_index(NAMESPACE_INDEX, namespace)
                if selects(pdb, pod)]
        now = self.clock.now()
        try:
            expected = await self._expectation(pdb, namespace, pods)
        except (ScaleLookupError, ValueError) as err:
            await self._fail_safe(pdb, str(err), now)
            return _RETRY_FAILED
        disrupted, recheck = budget.live_disruptions(
            (pdb.get("status") or {}).get("disruptedPods") or {}, pods, now)
        status = budget.budget_status(pdb, healthy=budget.current_healthy(pods, disrupted),
                                      expected=expected, disrupted=disrupted, now=now)
        await self._write(pdb, status)
        return recheck

    async def _expectation(self, pdb: Object, namespace: str,
                           pods: list[Object]) -> budget.Expectation:
        spec = pdb.get("spec") or {}
        scale = await total_scale(self.client, namespace, pods) if budget.needs_scale(spec) else 0
        return budget.expectation(spec, len(pods), scale)

    async def _fail_safe(self, pdb: Object, message: str, now: float) -> None:
        log.warning("budget %s/%s: %s", pdb["metadata"]["namespace"], pdb["metadata"]["name"],
                    message)
        if await self._write(pdb, budget.failed_status(pdb, message, now)):
            try:
                await self.client.create_event(
                    pdb, reason="CalculateExpectedPodCountFailed", type="Warning",
                    message=f"Failed to calculate the number of expected pods: {message}",
                    component="controllermanager")
            except StatusError as err:
                log.warning("could not record an event: %s", err)

    async def _write(self, pdb: Object, status: Object) -> bool:
        if status == (pdb.get("status") or {}):
            return False
        await self.client.update_status(PDBS, {**pdb, "status": status})
        return True
