"""NodeName (upstream ``plugins/nodename``)."""

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
from steersman.scheduler.framework.types import NodeInfo, PodInfo

NAME = "NodeName"
ERR_REASON = "node(s) didn't match the requested node name"
_REJECTED = unresolvable(ERR_REASON, plugin=NAME)


class NodeName:
    name = NAME

    def pre_filter(self, state: CycleState, pod: PodInfo) -> tuple[PreFilterResult | None, Status]:
        if not pod.node_name:
            return None, SKIP
        return PreFilterResult(frozenset({pod.node_name})), SUCCESS

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        if not pod.node_name or pod.node_name == node.name:
            return SUCCESS
        return _REJECTED


def new(_args: Mapping[str, Any], _handle: Handle) -> NodeName:
    return NodeName()
