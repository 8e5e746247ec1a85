"""NodeUnschedulable (upstream ``plugins/nodeunschedulable``).

A cordoned node is rejected unless the pod tolerates the
``node.kubernetes.io/unschedulable:NoSchedule`` taint (DaemonSet pods do). PreFilter returns
``SKIP`` when no node is cordoned or the pod tolerates the taint: Filter could not reject.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steersman.scheduler.framework.interface import (
    SKIP,
    SUCCESS,
    CycleState,
    Handle,
    PreFilterResult,
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

    def pre_filter(self, state: CycleState, pod: PodInfo) -> tuple[PreFilterResult | None, Status]:
        if not state.snapshot.node_traits().cordoned or tolerated(UNSCHEDULABLE_TAINT,
                                                                   pod.tolerations):
            return None, SKIP
        return None, SUCCESS

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        if not node.unschedulable or tolerated(UNSCHEDULABLE_TAINT, pod.tolerations):
            return SUCCESS
        return _REJECTED


def new(_args: Mapping[str, Any], _handle: Handle) -> NodeUnschedulable:
    return NodeUnschedulable()
