"""The node-lifecycle controller: Lease-based node health, condition taints, and pods on
unreachable nodes marked not ready.

Keys are node names. Node events, Lease events in ``kube-node-lease`` and pods turning
Ready on a node enqueue that node. ``reconcile`` notes the node's latest heartbeat
(:func:`.health.observe`); once the grace period (``grace_period``, 40 s by default;
``startup_grace_period`` for a node that never posted a Ready condition) has passed
without one, it sets the node's conditions Unknown; it then makes the managed taints match
the conditions, and on an Unknown node sets every pod's Ready condition False
(``MarkPodsNotReady``). A healthy node is looked at again when its heartbeat would go stale.
Evicting pods from NoExecute taints is :mod:`.eviction`'s job.
"""

from __future__ import annotations

from typing import Any

from steersman.api.meta import now_rfc3339
from steersman.client import (
    LEASES,
    NODE_NAME_INDEX,
    NODES,
    PODS,
    Client,
    Clock,
    by_node_name,
)
from steersman.controllers.nodelifecycle import health
from steersman.controllers.podstate import condition, is_ready
from steersman.controllers.runtime import InformerFactory, QueueController

Object = dict[str, Any]
LEASE_NAMESPACE = "kube-node-lease"


class NodeLifecycleController(QueueController):
    name = "nodelifecycle"
    workers = 2

    def __init__(self, client: Client, *, clock: Clock | None = None,
                 grace_period: float = 40.0, startup_grace_period: float = 60.0) -> None:
        super().__init__(client, clock=clock)
        self.grace_period = grace_period
        self.startup_grace_period = startup_grace_period
        self._probes: dict[str, health.Probe] = {}

    def setup(self, factory: InformerFactory) -> None:
        self._nodes = factory.informer(NODES)
        self._leases = factory.informer(LEASES, namespace=LEASE_NAMESPACE)
        self._pods = factory.informer(PODS, indexers={NODE_NAME_INDEX: by_node_name})
        self._nodes.add_handlers(on_add=self.enqueue, on_update=lambda _, new: self.enqueue(new),
                                 on_delete=self.enqueue)
        self._leases.add_handlers(on_add=self._lease_changed,
                                  on_update=lambda _, new: self._lease_changed(new))
        self._pods.add_handlers(on_add=self._pod_changed,
                                on_update=lambda _, new: self._pod_changed(new))

    def _lease_changed(self, lease: Object) -> None:
        self.queue.add(str(lease["metadata"]["name"]))

    def _pod_changed(self, pod: Object) -> None:
        node = (pod.get("spec") or {}).get("nodeName")
        if node and is_ready(pod):
            self.queue.add(str(node))

    async def reconcile(self, key: str) -> float | None:
        node = self._nodes.indexer.get(key)
        if node is None:
            self._probes.pop(key, None)
            return None
        now = self.clock.now()
        probe = health.observe(self._probes.get(key), node,
                               self._leases.indexer.get(f"{LEASE_NAMESPACE}/{key}"), now)
        self._probes[key] = probe
        grace = self.grace_period if condition(node, "Ready") else self.startup_grace_period
        stale_in = probe.seen_at + grace - now
        if stale_in <= 0 and health.ready_status(node) != "Unknown":
            node = await self.client.update_status(
                NODES, health.with_unknown_conditions(node, now_rfc3339(now)))
        await self._sync_taints(node, now)
        if health.ready_status(node) == "Unknown":
            await self._mark_pods_not_ready(key, now)
        return stale_in if stale_in > 0 else None

    async def _sync_taints(self, node: Object, now: float) -> None:
        taints = health.desired_taints(node, now_rfc3339(now))
        if taints == ((node.get("spec") or {}).get("taints") or []):
            return
        spec = {**(node.get("spec") or {}), "taints": taints}
        if not taints:
            del spec["taints"]
        await self.client.update(NODES, {**node, "spec": spec})

    async def _mark_pods_not_ready(self, node_name: str, now: float) -> None:
        for pod in self._pods.indexer.by_index(NODE_NAME_INDEX, node_name):
            if is_ready(pod):
                await self.client.update_status(PODS, not_ready(pod, now_rfc3339(now)))


def not_ready(pod: Object, now: str) -> Object:
    """A copy of ``pod`` with its Ready condition False (``MarkPodsNotReady``)."""
    conditions = [dict(c) for c in (pod.get("status") or {}).get("conditions") or []]
    for entry in conditions:
        if entry.get("type") == "Ready":
            entry.update(status="False", lastTransitionTime=now)
    return {**pod, "status": {**(pod.get("status") or {}), "conditions": conditions}}
