"""The taint-eviction controller: pods leave nodes with NoExecute taints they do not tolerate.

Upstream ``pkg/controller/tainteviction`` (the taint manager). Keys are pods. A pod that is
bound to a node is enqueued when it changes, and every pod of a node is enqueued when the
node's NoExecute taints change. ``reconcile`` computes the pod's eviction deadline
(:func:`.taints.eviction_deadline`): past it, the pod is deleted (gracefully, as upstream;
a ``TaintManagerEviction`` event says why); before it, the key comes back when it is due.
A taint without ``timeAdded`` counts from when this controller first saw it.
"""

from __future__ import annotations

import logging
from typing import Any

from steersman.api.errors import StatusError
from steersman.api.meta import parse_time
from steersman.client import NODE_NAME_INDEX, NODES, PODS, Client, Clock, by_node_name
from steersman.controllers.nodelifecycle.taints import (
    eviction_deadline,
    no_execute_changed,
    taints_of,
)
from steersman.controllers.podstate import is_terminal, is_terminating
from steersman.controllers.runtime import InformerFactory, QueueController

log = logging.getLogger(__name__)
Object = dict[str, Any]


class TaintEvictionController(QueueController):
    name = "taint-eviction"
    workers = 4

    def __init__(self, client: Client, *, clock: Clock | None = None) -> None:
        super().__init__(client, clock=clock)
        self._first_seen: dict[tuple[str, str, str], float] = {}

    def setup(self, factory: InformerFactory) -> None:
        self._nodes = factory.informer(NODES)
        self._pods = factory.informer(PODS, indexers={NODE_NAME_INDEX: by_node_name})
        self._nodes.add_handlers(on_add=self._node_added, on_update=self._node_updated)
        self._pods.add_handlers(on_add=self._pod_changed,
                                on_update=lambda _, new: self._pod_changed(new))

    def _node_added(self, node: Object) -> None:
        if taints_of(node):
            self._enqueue_pods_of(node)

    def _node_updated(self, old: Object, new: Object) -> None:
        if no_execute_changed(old, new):
            self._enqueue_pods_of(new)

    def _enqueue_pods_of(self, node: Object) -> None:
        for pod in self._pods.indexer.by_index(NODE_NAME_INDEX, node["metadata"]["name"]):
            self.enqueue(pod)

    def _pod_changed(self, pod: Object) -> None:
        if (pod.get("spec") or {}).get("nodeName") and not is_terminating(pod):
            self.enqueue(pod)

    async def reconcile(self, key: str) -> float | None:
        pod = self._pods.indexer.get(key)
        if pod is None or is_terminating(pod) or is_terminal(pod):
            return None
        node_name = str((pod.get("spec") or {}).get("nodeName") or "")
        node = self._nodes.indexer.get(node_name) if node_name else None
        taints = taints_of(node) if node is not None else []
        self._forget_cleared(node_name, taints)
        if not taints:
            return None
        tolerations = list((pod.get("spec") or {}).get("tolerations") or [])
        now = self.clock.now()
        deadline = eviction_deadline(taints, tolerations, lambda t: self._added_at(node_name, t))
        if deadline is None:
            return None
        if deadline > now:
            return deadline - now
        await self._evict(pod, node_name)
        return None

    def _added_at(self, node_name: str, taint: Object) -> float:
        if taint.get("timeAdded"):
            return parse_time(str(taint["timeAdded"])).timestamp()
        return self._first_seen.setdefault(
            (node_name, str(taint.get("key")), str(taint.get("value") or "")), self.clock.now())

    def _forget_cleared(self, node_name: str, taints: list[Object]) -> None:
        present = {(node_name, str(t.get("key")), str(t.get("value") or "")) for t in taints}
        for seen in [s for s in self._first_seen if s[0] == node_name and s not in present]:
            del self._first_seen[seen]

    async def _evict(self, pod: Object, node_name: str) -> None:
        namespace, name = str(pod["metadata"]["namespace"]), str(pod["metadata"]["name"])
        log.info("evicting pod %s/%s from node %s (NoExecute taint)", namespace, name, node_name)
        try:
            await self.client.create_event(pod, reason="TaintManagerEviction",
                                           message=f"Marking for deletion Pod {namespace}/{name}",
                                           component="taint-eviction-controller")
        except StatusError as err:
            log.warning("could not record the eviction of %s/%s: %s", namespace, name, err)
        try:
            await self.client.delete(PODS, name, namespace=namespace, preconditions={
                "uid": pod["metadata"].get("uid")})
        except StatusError as err:
            if err.code not in (404, 409):
                raise
