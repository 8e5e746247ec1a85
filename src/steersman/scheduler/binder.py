"""The scheduler's writes to the API: bindings, PodScheduled conditions, preemption victims.

:class:`ClientBinder` implements :class:`~steersman.scheduler.scheduler.Binder` over
:mod:`steersman.client`, as upstream's ``DefaultBinder`` plugin and
``handleSchedulingFailure``/``PreemptPod`` do:

* ``bind`` POSTs the ``pods/binding`` subresource (the API server answers 409 if the pod is
  already bound, which the loop treats as a failed binding);
* ``set_unschedulable`` writes ``PodScheduled=False`` (reason ``Unschedulable``) with the
  scheduler's message as a strategic-merge status patch, keyed on the condition type; it
  skips the write when the newest copy of the pod (``current_pod``, the informer cache)
  already carries the same condition and nomination, so a parked pod retried again and
  again does not rewrite its status each time;
* ``select_node`` (the VolumeBinding plugin's PreBind) merge-patches a claim's
  ``volume.kubernetes.io/selected-node`` annotation, with the claim's resourceVersion, so a
  claim bound meanwhile is not annotated after the fact (409, retried by the loop);
* ``delete_victim`` marks the victim ``DisruptionTarget=True`` (reason
  ``PreemptionByScheduler``, naming the preemptor), then deletes it with a UID
  precondition, so a re-created pod of the same name is never hit; a victim already gone is
  not an error.

Every request waits for one of ``max_in_flight`` slots: the scheduling loop keeps deciding
on its assumed cache while up to that many writes are on the wire.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from steersman.api.errors import StatusError
from steersman.api.meta import now_rfc3339
from steersman.api.volumes import SELECTED_NODE
from steersman.client import PODS, PVCS, Client, PatchType

Pod = Mapping[str, Any]
Object = dict[str, Any]
PodLookup = Callable[[str], Pod | None]
DEFAULT_MAX_IN_FLIGHT = 64


class ClientBinder:
    """Binds pods and records scheduling failures through the REST client."""

    def __init__(self, client: Client, *, scheduler_name: str = "default-scheduler",
                 current_pod: PodLookup | None = None,
                 max_in_flight: int = DEFAULT_MAX_IN_FLIGHT) -> None:
        self._client = client
        self._scheduler_name = scheduler_name
        self._current_pod = current_pod or (lambda _key: None)
        self._slots = asyncio.Semaphore(max_in_flight)

    async def bind(self, pod: Pod, node_name: str) -> None:
        meta = pod.get("metadata") or {}
        body = {"apiVersion": "v1", "kind": "Binding",
                "metadata": {"name": meta.get("name"), "namespace": meta.get("namespace"),
                             "uid": meta.get("uid")},
                "target": {"apiVersion": "v1", "kind": "Node", "name": node_name}}
        async with self._slots:
            await self._client.post_subresource(PODS, str(meta.get("name")), "binding", body,
                                                namespace=_namespace(pod))

    async def set_unschedulable(self, pod: Pod, *, message: str,
                                nominated_node_name: str | None = None) -> None:
        current = self._current_pod(_key(pod)) or pod
        if _already_recorded(current, message, nominated_node_name):
            return
        status: Object = {"conditions": [_condition(current, message, self._now())]}
        if nominated_node_name is not None:
            status["nominatedNodeName"] = nominated_node_name
        await self._patch_status(pod, status)

    async def select_node(self, claim: Pod, node_name: str) -> None:
        meta = claim.get("metadata") or {}
        patch = {"metadata": {"annotations": {SELECTED_NODE: node_name},
                              "resourceVersion": meta.get("resourceVersion")}}
        async with self._slots:
            await self._client.patch(PVCS, str(meta.get("name")), patch,
                                     namespace=_namespace(claim))

    async def delete_victim(self, victim: Pod, *, preemptor: Pod, node_name: str) -> None:
        message = (f"{self._scheduler_name}: preempting to accommodate a higher priority pod "
                   f"{_key(preemptor)} on node {node_name}")
        target = {"type": "DisruptionTarget", "status": "True",
                  "reason": "PreemptionByScheduler", "message": message,
                  "lastTransitionTime": self._now()}
        try:
            await self._patch_status(victim, {"conditions": [target]})
            async with self._slots:
                await self._client.delete(
                    PODS, str((victim.get("metadata") or {}).get("name")),
                    namespace=_namespace(victim),
                    preconditions={"uid": (victim.get("metadata") or {}).get("uid")})
        except StatusError as err:
            if err.code != 404:
                raise

    async def _patch_status(self, pod: Pod, status: Object) -> None:
        async with self._slots:
            await self._client.patch(PODS, str((pod.get("metadata") or {}).get("name")),
                                     {"status": status}, namespace=_namespace(pod),
                                     patch_type=PatchType.STRATEGIC, subresource="status")

    def _now(self) -> str:
        return now_rfc3339(self._client.clock.now())


def _already_recorded(pod: Pod, message: str, nominated: str | None) -> bool:
    status = pod.get("status") or {}
    if nominated is not None and status.get("nominatedNodeName", "") != nominated:
        return False
    scheduled = _pod_scheduled(pod)
    return scheduled is not None and (scheduled.get("status"), scheduled.get("reason"),
                                      scheduled.get("message")) == (
        "False", "Unschedulable", message)


def _condition(pod: Pod, message: str, now: str) -> Object:
    """The new PodScheduled condition; its transition time moves only when status does."""
    previous = _pod_scheduled(pod) or {}
    since = now
    if previous.get("status") == "False" and previous.get("lastTransitionTime"):
        since = str(previous["lastTransitionTime"])
    return {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": message, "lastTransitionTime": since, "lastProbeTime": None}


def _pod_scheduled(pod: Pod) -> Mapping[str, Any] | None:
    for condition in (pod.get("status") or {}).get("conditions") or ():
        if condition.get("type") == "PodScheduled":
            found: Mapping[str, Any] = condition
            return found
    return None


def _namespace(pod: Pod) -> str:
    return str((pod.get("metadata") or {}).get("namespace") or "default")


def _key(pod: Pod) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('namespace') or 'default'}/{meta.get('name')}"
