"""NodeResourcesFit (upstream ``noderesources/fit.go`` + ``least_allocated.go``).

Filter: the pod's effective requests plus what is already requested (including assumed
pods) must not exceed allocatable, for every resource it asks for — cpu, memory,
ephemeral-storage, extended resources such as ``nvidia.com/gpu`` — and the pod count must
stay within ``allocatable.pods``. Every shortfall is a reason ("Too many pods", "Insufficient
cpu"); a request larger than the node's whole allocatable makes the status unresolvable,
since evicting pods cannot help.

Score (LeastAllocated, cpu and memory weighted 1:1): the free fraction left after placing
the pod, with upstream's defaults for pods that request nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from steersman.scheduler.framework.interface import (
    MAX_NODE_SCORE,
    SUCCESS,
    Code,
    CycleState,
    Handle,
    Status,
)
from steersman.scheduler.framework.resources import CPU, MEMORY
from steersman.scheduler.framework.types import NodeInfo, PodInfo

NAME = "NodeResourcesFit"
TOO_MANY_PODS = "Too many pods"
_ORDER = {CPU: 0, MEMORY: 1, "ephemeral-storage": 2}


def insufficient_reason(resource: str) -> str:
    return f"Insufficient {resource}"


class Fit:
    name = NAME

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        requested, allocatable = node.requested, node.allocatable
        for resource, quantity in pod.request_items:
            if requested.get(resource, 0) + quantity > allocatable.get(resource, 0):
                break
        else:
            if len(node.pods) < node.allowed_pods:
                return SUCCESS
        return _shortfall(pod, node)

    def score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> list[int]:
        cpu, memory = pod.nonzero_cpu, pod.nonzero_memory
        return [(_least_allocated(node.nonzero_cpu + cpu, node.allocatable.get(CPU, 0))
                 + _least_allocated(node.nonzero_memory + memory,
                                    node.allocatable.get(MEMORY, 0))) // 2
                for node in nodes]


def _least_allocated(requested: int, capacity: int) -> int:
    if capacity == 0 or requested > capacity:
        return 0
    return (capacity - requested) * MAX_NODE_SCORE // capacity


def _shortfall(pod: PodInfo, node: NodeInfo) -> Status:
    reasons = []
    code = Code.UNSCHEDULABLE
    if len(node.pods) >= node.allowed_pods:
        reasons.append(TOO_MANY_PODS)
    ordered = sorted(pod.request_items, key=lambda item: (_ORDER.get(item[0], 3), item[0]))
    for resource, quantity in ordered:
        capacity = node.allocatable.get(resource, 0)
        if node.requested.get(resource, 0) + quantity > capacity:
            reasons.append(insufficient_reason(resource))
            if quantity > capacity:
                code = Code.UNSCHEDULABLE_AND_UNRESOLVABLE
    return Status(code, tuple(reasons), NAME)


def new_fit(_args: Mapping[str, Any], _handle: Handle) -> Fit:
    return Fit()
