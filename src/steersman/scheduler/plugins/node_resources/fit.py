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

import sys
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
_REQUESTS_KEY = "NodeResourcesFit.requests"


def insufficient_reason(resource: str) -> str:
    return f"Insufficient {resource}"


class Fit:
    name = NAME

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        return SUCCESS if fits(pod, node) else _shortfall(pod, node)

    def filter_nodes(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo],
                     rejected: dict[str, Status]) -> list[NodeInfo]:
        shape = _requests_key(pod)
        # Hot path: a node unchanged since these requests last fitted says so in a slot.
        passed = [n for n in nodes if n.fits is shape or _fits_now(pod, n, shape)]
        if len(passed) < len(nodes):
            kept = set(map(id, passed))
            rejected.update((n.name, _shortfall(pod, n)) for n in nodes if id(n) not in kept)
        return passed

    def score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> list[int]:
        # The runtime memoises node-local scores itself (score_key/score_node), summed.
        return [self.score_node(pod, node) for node in nodes]

    def score_key(self, pod: PodInfo) -> str:
        return f"{NAME}/{pod.nonzero_cpu}/{pod.nonzero_memory}"

    def score_node(self, pod: PodInfo, node: NodeInfo) -> int:
        return least_allocated(node, pod.nonzero_cpu, pod.nonzero_memory)


def _requests_key(pod: PodInfo) -> str:
    """The pod's requests as an interned string, so that ``NodeInfo.fits`` matches it by
    identity; memoised on the PodInfo."""
    key = pod.memo.get(_REQUESTS_KEY)
    if key is None:
        key = pod.memo[_REQUESTS_KEY] = sys.intern(repr(pod.request_items))
    return str(key)


def _fits_now(pod: PodInfo, node: NodeInfo, shape: str) -> bool:
    if fits(pod, node):
        node.fits = shape
        return True
    return False


def fits(pod: PodInfo, node: NodeInfo) -> bool:
    """Room for every resource the pod requests, and for one more pod."""
    cpu, memory = pod.request_cpu, pod.request_memory
    if ((cpu and node.free_cpu < cpu) or (memory and node.free_memory < memory)
            or node.free_pods <= 0):
        return False
    free = node.free
    return all(free.get(resource, 0) >= quantity
               for resource, quantity in pod.requests_beyond_cpu_memory)


def least_allocated(node: NodeInfo, cpu: int, memory: int) -> int:
    """cpu and memory weighted 1:1: ``(capacity - requested) * 100 // capacity`` each, or 0
    when the pod's (non-zero) request does not fit in that resource."""
    return (_free_share(node.alloc_cpu, node.nonzero_cpu + cpu)
            + _free_share(node.alloc_memory, node.nonzero_memory + memory)) // 2


def _free_share(capacity: int, requested: int) -> int:
    if not capacity or requested > capacity:
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
