"""The horizontal pod autoscaler: every sync period, size each HPA's target by its metrics.

kubernetes ``pkg/controller/podautoscaler/horizontal.go``. For each
``autoscaling/v2`` HorizontalPodAutoscaler, every ``sync_period`` (15 s by default) and
whenever its spec changes:

1. read the target's ``scale`` subresource (Deployment, ReplicaSet, StatefulSet,
   ReplicationController): its replicas and pod selector;
2. read the selected pods (from the shared informer) and their ``PodMetrics`` through the
   API (``metrics.k8s.io``, as upstream reads metrics-server);
3. :func:`~.decision.decide` the count; when it differs, write it to the scale
   subresource and record ``SuccessfulRescale`` ("New size: 3; reason: cpu resource
   utilization (percentage of request) above target");
4. write ``status`` (current and desired replicas, ``currentMetrics``, ``lastScaleTime``,
   conditions) when it changed.

Warnings (``FailedGetScale``, ``FailedGetResourceMetric``, ``FailedRescale`` …) are recorded
as Events when they differ from the previous sync's, not on every sync.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from steersman.api.errors import StatusError
from steersman.api.selectors import SelectorError, parse_label_selector
from steersman.client import (
    DEPLOYMENTS,
    NAMESPACE_INDEX,
    PODS,
    REPLICASETS,
    REPLICATIONCONTROLLERS,
    STATEFULSETS,
    Client,
    Clock,
    Informer,
    Resource,
    ServerUnreachable,
)
from steersman.controllers.horizontalpodautoscaler.behavior import Normalizer
from steersman.controllers.horizontalpodautoscaler.decision import Decision, Inputs, decide
from steersman.controllers.horizontalpodautoscaler.replicas import ReplicaCalcError
from steersman.controllers.horizontalpodautoscaler.status import Condition, new_status
from steersman.controllers.runtime import InformerFactory, QueueController

log = logging.getLogger(__name__)
Object = dict[str, Any]
HPAS = Resource("autoscaling", "v2", "horizontalpodautoscalers", kind="HorizontalPodAutoscaler")
POD_METRICS = Resource("metrics.k8s.io", "v1beta1", "pods", kind="PodMetrics")
COMPONENT = "horizontal-pod-autoscaler"
DEFAULT_SYNC_PERIOD = 15.0
CONFLICT_RETRY_SECONDS = 1.0
_SCALABLE = {(r.api_version, r.kind): r for r in (DEPLOYMENTS, REPLICASETS, STATEFULSETS,
                                                    REPLICATIONCONTROLLERS)}


class HorizontalPodAutoscalerController(QueueController):
    """Scales Deployments, ReplicaSets and StatefulSets by their pods' resource usage."""

    name = "horizontalpodautoscaling"
    workers = 2

    def __init__(self, client: Client, *, clock: Clock | None = None,
                 sync_period: float = DEFAULT_SYNC_PERIOD) -> None:
        super().__init__(client, clock=clock)
        self.sync_period = sync_period
        self.normalizer = Normalizer()
        self._hpas: Informer | None = None
        self._pods: Informer | None = None
        self._warned: dict[str, set[tuple[str, str]]] = {}

    def setup(self, factory: InformerFactory) -> None:
        self._hpas = factory.informer(HPAS)
        self._pods = factory.informer(PODS)
        self._hpas.add_handlers(on_add=self.enqueue, on_update=self._updated,
                                on_delete=self.enqueue)

    def _updated(self, old: Object, new: Object) -> None:
        if old.get("spec") != new.get("spec"):  # not for our own status writes
            self.enqueue(new)

    async def reconcile(self, key: str) -> float | None:
        hpa = self._hpas.indexer.get(key) if self._hpas else None
        if hpa is None:
            self.normalizer.forget(key)
            self._warned.pop(key, None)
            return None
        try:
            await self._autoscale(key, hpa)
        except StatusError as err:
            if err.code != 409:
                raise
            log.debug("hpa %s: %s; looking again", key, err.message)
            return CONFLICT_RETRY_SECONDS
        return self.sync_period

    async def _autoscale(self, key: str, hpa: Object) -> None:
        now = self.clock.now()
        scale = await self._scale(hpa)
        if isinstance(scale, Condition):
            await self._finish(key, hpa, Decision(0, conditions=[scale]), current=0, now=now)
            return
        current = int((scale.get("spec") or {}).get("replicas") or 0)
        got = Condition("AbleToScale", True, "SucceededGetScale",
                        "the HPA controller was able to get the target's current scale")
        selector = str((scale.get("status") or {}).get("selector") or "")
        pods = self._selected_pods(hpa, selector)
        if pods is None:
            invalid = Condition("ScalingActive", False, "InvalidSelector",
                                "the HPA target's scale is missing a selector")
            decision = Decision(current, computed=False, conditions=[got, invalid],
                                events=[("Warning", "SelectorRequired", invalid.message)])
            await self._finish(key, hpa, decision, current=current, now=now)
            return
        metrics = await self._pod_metrics(hpa, selector)
        decision = decide(Inputs(key, hpa, current, pods, metrics, now), self.normalizer)
        decision.conditions.insert(0, got)
        if decision.computed and decision.desired != current:
            await self._rescale(key, hpa, scale, current, decision, now)
        await self._finish(key, hpa, decision, current=current, now=now)

    async def _scale(self, hpa: Object) -> Object | Condition:
        ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
        resource = _SCALABLE.get((str(ref.get("apiVersion") or ""), str(ref.get("kind") or "")))
        try:
            if resource is None:
                raise StatusError(404, "NotFound", f"no scale subresource is known for "
                                  f"{ref.get('kind')} in {ref.get('apiVersion')}")
            return await self.client.get(resource, str(ref.get("name") or ""),
                                         namespace=_namespace(hpa), subresource="scale")
        except (StatusError, ServerUnreachable) as err:
            message = getattr(err, "message", str(err))
            return Condition("AbleToScale", False, "FailedGetScale",
                             f"the HPA controller was unable to get the target's current "
                             f"scale: {message}")

    def _selected_pods(self, hpa: Object, selector: str) -> list[Object] | None:
        if not selector or self._pods is None:
            return None
        try:
            parsed = parse_label_selector(selector)
        except SelectorError:
            return None
        pods = self._pods.indexer.by_index(NAMESPACE_INDEX, _namespace(hpa))
        return [p for p in pods if parsed.matches((p.get("metadata") or {}).get("labels"))]

    async def _pod_metrics(self, hpa: Object, selector: str) -> Object | ReplicaCalcError:
        try:
            return await self.client.list(POD_METRICS, namespace=_namespace(hpa),
                                          label_selector=selector)
        except (StatusError, ServerUnreachable) as err:
            message = getattr(err, "message", str(err))
            return ReplicaCalcError("unable to get metrics for resource: unable to fetch "
                                    f"metrics from resource metrics API: {message}")

    async def _rescale(self, key: str, hpa: Object, scale: Object, current: int,
                       decision: Decision, now: float) -> None:
        ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
        resource = _SCALABLE[(str(ref.get("apiVersion")), str(ref.get("kind")))]
        size = f"New size: {decision.desired}; reason: {decision.reason}"
        try:
            await self.client.patch(resource, scale["metadata"]["name"],
                                    {"spec": {"replicas": decision.desired}},
                                    namespace=_namespace(hpa), subresource="scale")
        except (StatusError, ServerUnreachable) as err:
            message = getattr(err, "message", str(err))
            decision.events.append(("Warning", "FailedRescale", f"{size}; error: {message}"))
            decision.conditions.append(Condition(
                "AbleToScale", False, "FailedUpdateScale",
                f"the HPA controller was unable to update the target scale: {message}"))
            decision.desired = current
            return
        decision.conditions.append(Condition(
            "AbleToScale", True, "SucceededRescale",
            f"the HPA controller was able to update the target scale to {decision.desired}"))
        decision.events.append(("Normal", "SuccessfulRescale", size))
        self.normalizer.record_scale(key, behavior=(hpa.get("spec") or {}).get("behavior"),
                                     before=current, after=decision.desired, now=now)
        decision.rescaled = True

    async def _finish(self, key: str, hpa: Object, decision: Decision, *, current: int,
                      now: float) -> None:
        await self._record(key, hpa, decision)
        desired = decision.desired if decision.computed or decision.rescaled else current
        status = new_status(hpa, current=current, desired=desired, metrics=decision.metrics,
                            conditions=decision.conditions, rescaled=decision.rescaled, now=now)
        if status != (hpa.get("status") or {}):
            await self.client.update_status(HPAS, {**hpa, "status": status})

    async def _record(self, key: str, hpa: Object, decision: Decision) -> None:
        warnings = {(reason, message) for kind, reason, message in decision.events
                    if kind == "Warning"}
        quiet = warnings == self._warned.get(key)
        self._warned[key] = warnings
        regarding = {"apiVersion": HPAS.api_version, "kind": HPAS.kind,
                     "metadata": hpa.get("metadata") or {}}
        for kind, reason, message in decision.events:
            if kind == "Warning" and quiet:
                continue
            try:
                await self.client.create_event(regarding, reason=reason, message=message,
                                               type=kind, component=COMPONENT)
            except (StatusError, ServerUnreachable) as err:
                log.warning("hpa %s: event %s not recorded: %s", key, reason, err)


def _namespace(hpa: Mapping[str, Any]) -> str:
    return str((hpa.get("metadata") or {}).get("namespace") or "")
