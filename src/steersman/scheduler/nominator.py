"""Pods nominated to a node by preemption, waiting for their victims to leave.

Upstream's ``nominator``: the runtime counts a nominated pod of equal or higher priority as
already on its node, so a lower-priority pod cannot take the room preemption made.
"""

from __future__ import annotations

from steersman.scheduler.framework.types import PodInfo


class Nominator:
    def __init__(self) -> None:
        self.by_node: dict[str, list[PodInfo]] = {}
        self._node_of: dict[str, str] = {}

    def update(self, pod: PodInfo) -> None:
        self.remove(pod.uid)
        if pod.nominated_node_name and not pod.node_name:
            self.by_node.setdefault(pod.nominated_node_name, []).append(pod)
            self._node_of[pod.uid] = pod.nominated_node_name

    def remove(self, uid: str) -> None:
        node = self._node_of.pop(uid, None)
        if node is None:
            return
        remaining = [p for p in self.by_node.get(node, ()) if p.uid != uid]
        if remaining:
            self.by_node[node] = remaining
        else:
            self.by_node.pop(node, None)
