"""The pods of hollow nodes: one informer, one work queue, one status write per start.

One informer watches every bound pod (``spec.nodeName!=``, all namespaces), indexed by
node name; its handlers only enqueue the keys of pods on *our* nodes (several hollow-node
processes may share a cluster) and keep each node's address pool in step — a Running pod
seen at start keeps its IP, a pod that finished or vanished gives its IP back. Workers
then act on the cached pod (:func:`~steersman.kubelet.hollow.pod_status.decide`):

* START — allocate a pod IP and PUT the Running status in one conditional write;
* COMPLETE — PUT the Succeeded status once ``complete-after`` has passed;
* DELETE — a pod with ``deletionTimestamp`` is deleted at once with grace 0 and a UID
  precondition (kwok's behaviour: nothing runs, so nothing needs the grace period).

A 409 (the pod changed meanwhile) or 404 (it is gone) is not an error: the informer
delivers the newer state, which is enqueued again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from steersman.api.errors import StatusError
from steersman.api.meta import now_rfc3339
from steersman.client import (
    NODE_NAME_INDEX,
    PODS,
    Client,
    Clock,
    Informer,
    ItemExponentialBackoff,
    WorkQueue,
    by_node_name,
    key_of,
    run_workers,
)
from steersman.kubelet.hollow.pod_status import (
    Action,
    completed_status,
    decide,
    running_status,
)
from steersman.kubelet.hollow.registration import HollowNode

log = logging.getLogger(__name__)

Object = dict[str, Any]
_FULL_NODE_RETRY = 10.0
_TERMINAL = ("Succeeded", "Failed")


class HollowPods:
    """Takes the pods bound to ``nodes`` to Running, to Succeeded, and through deletion."""

    def __init__(self, client: Client, nodes: Mapping[str, HollowNode], *, clock: Clock,
                 workers: int) -> None:
        self._client = client
        self._nodes = nodes
        self._clock = clock
        self._workers = workers
        self.informer = Informer(client, PODS, field_selector="spec.nodeName!=",
                                 indexers={NODE_NAME_INDEX: by_node_name}, clock=clock)
        self.queue: WorkQueue[str] = WorkQueue(
            clock=clock, rate_limiter=ItemExponentialBackoff(base=0.05, cap=30.0))
        self.informer.add_handlers(on_add=self._seen, on_update=lambda _, new: self._seen(new),
                                   on_delete=self._gone)
        self.started = 0

    def pods_on(self, node: str) -> list[Object]:
        """The cached pods bound to ``node``."""
        return self.informer.indexer.by_index(NODE_NAME_INDEX, node)

    async def run(self) -> None:
        """Watch and work until cancelled."""
        informer = asyncio.create_task(self.informer.run())
        try:
            await self.informer.wait_synced()
            await run_workers(self.queue, self.reconcile, workers=self._workers)
        finally:
            self.queue.shutdown()
            informer.cancel()

    async def reconcile(self, key: str) -> float | None:
        """Act on the cached pod ``key``; the seconds until it needs another look, if any."""
        pod = self.informer.indexer.get(key)
        node = self._node_of(pod)
        if pod is None or node is None:
            return None
        decision = decide(pod, self._clock.now())
        try:
            if decision.action is Action.START:
                return await self._start(pod, node)
            if decision.action is Action.COMPLETE:
                await self._write(completed_status(pod, now=self._now()), pod)
            elif decision.action is Action.DELETE:
                await self._delete(pod)
        except StatusError as err:
            if err.code not in (404, 409):
                raise
        return decision.recheck_after

    async def _start(self, pod: Object, node: HollowNode) -> float | None:
        uid = str(pod["metadata"].get("uid") or "")
        pod_ip = node.pool.allocate(uid)
        if pod_ip is None:
            log.warning("node %s has no free pod IP for %s; retrying in %.0f s",
                        node.name, key_of(pod), _FULL_NODE_RETRY)
            return _FULL_NODE_RETRY
        await self._write(running_status(pod, host_ip=node.identity.internal_ip,
                                         pod_ip=pod_ip, now=self._now()), pod)
        self.started += 1
        return None

    async def _write(self, status: Object, pod: Object) -> None:
        await self._client.update_status(PODS, status_body(pod, status))

    async def _delete(self, pod: Object) -> None:
        metadata = pod["metadata"]
        await self._client.delete(PODS, metadata["name"], namespace=metadata["namespace"],
                                  grace_period_seconds=0,
                                  preconditions={"uid": metadata.get("uid")})

    def _seen(self, pod: Object) -> None:
        node = self._node_of(pod)
        if node is None:
            return
        status, uid = pod.get("status") or {}, str(pod["metadata"].get("uid") or "")
        if status.get("phase") in _TERMINAL:
            node.pool.release(uid)
        elif status.get("podIP") and node.pool.address_of(uid) is None:
            node.pool.claim(uid, str(status["podIP"]))
        self.queue.add(key_of(pod))

    def _gone(self, pod: Object) -> None:
        node = self._node_of(pod)
        if node is not None:
            node.pool.release(str(pod["metadata"].get("uid") or ""))

    def _node_of(self, pod: Object | None) -> HollowNode | None:
        if pod is None:
            return None
        return self._nodes.get(str((pod.get("spec") or {}).get("nodeName") or ""))

    def _now(self) -> str:
        return now_rfc3339(self._clock.now())


def status_body(pod: Object, status: Object) -> Object:
    """The ``PUT pods/NAME/status`` body: the pod's metadata (its resourceVersion the write's
    precondition; labels and annotations, which a status write may change, as they are) and
    the new status. The server takes everything else from the stored pod, so the spec and
    the managedFields (omitted: kept as they are) are left out, as a kubelet's status patch
    leaves them out: they are most of the bytes, and the server would parse and check them
    only to drop them."""
    metadata = {key: value for key, value in pod["metadata"].items() if key != "managedFields"}
    return {"apiVersion": pod.get("apiVersion", "v1"), "kind": pod.get("kind", "Pod"),
            "metadata": metadata, "status": status}

