"""NodePorts (upstream ``plugins/nodeports``).

A wanted ``(hostIP, protocol, hostPort)`` conflicts with a used one on the same protocol and
port when either side binds ``0.0.0.0`` or both bind the same IP.
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
    unschedulable,
)
from steersman.scheduler.framework.types import DEFAULT_BIND_ALL, NodeInfo, PodInfo

NAME = "NodePorts"
ERR_REASON = "node(s) didn't have free ports for the requested pod ports"
_REJECTED = unschedulable(ERR_REASON, plugin=NAME)


class NodePorts:
    name = NAME

    def pre_filter(self, state: CycleState, pod: PodInfo) -> tuple[PreFilterResult | None, Status]:
        return None, (SUCCESS if pod.host_ports else SKIP)

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        used = node.used_ports
        if not used:
            return SUCCESS
        for ip, protocol, port in pod.host_ports:
            holders = used.get((protocol, port))
            if holders and (ip == DEFAULT_BIND_ALL or ip in holders
                            or DEFAULT_BIND_ALL in holders):
                return _REJECTED
        return SUCCESS


def new(_args: Mapping[str, Any], _handle: Handle) -> NodePorts:
    return NodePorts()
