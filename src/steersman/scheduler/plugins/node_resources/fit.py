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
        free = node.free
        for resource, quantity in pod.request_items:
            if free.get(resource, 0) < quantity:
                return _shortfall(pod, node)
        if len(node.pods) < node.allowed_pods:
            return SUCCESS
        return _shortfall(pod, node)

    def score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> list[int]:
        # Inlined least_allocated(requested, capacity) for cpu and memory, weights 1:1:
        # (capacity - requested) * 100 // capacity, or 0 when it does not fit. Hot path.
        cpu, memory, top = pod.nonzero_cpu, pod.nonzero_memory, MAX_NODE_SCORE
        return [(((c - r) * top // c if (r := n.nonzero_cpu + cpu) <= c else 0) if (
                    c := n.alloc_cpu) else 0)
                + (((m - q) * top // m if (q := n.nonzero_memory + memory) <= m else 0) if (
                    m := n.alloc_memory) else 0) >> 1
                for n in nodes]


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
