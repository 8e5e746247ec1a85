"""NodeUnschedulable (upstream ``plugins/nodeunschedulable``).

A cordoned node is rejected unless the pod tolerates the
``node.kubernetes.io/unschedulable:NoSchedule`` taint (DaemonSet pods do).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steersman.scheduler.framework.interface import (
    SUCCESS,
    CycleState,
    Handle,
    Status,
    unresolvable,
)
from steersman.scheduler.framework.taints import NO_SCHEDULE, Taint, tolerated
from steersman.scheduler.framework.types import NodeInfo, PodInfo

NAME = "NodeUnschedulable"
ERR_REASON = "node(s) were unschedulable"
UNSCHEDULABLE_TAINT = Taint("node.kubernetes.io/unschedulable", "", NO_SCHEDULE)
_REJECTED = unresolvable(ERR_REASON, plugin=NAME)


class NodeUnschedulable:
    name = NAME

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        if not node.unschedulable or tolerated(UNSCHEDULABLE_TAINT, pod.tolerations):
            return SUCCESS
        return _REJECTED


def new(_args: Mapping[str, Any], _handle: Handle) -> NodeUnschedulable:
    return NodeUnschedulable()
