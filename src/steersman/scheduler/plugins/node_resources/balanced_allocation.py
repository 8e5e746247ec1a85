"""NodeResourcesBalancedAllocation (upstream ``noderesources/balanced_allocation.go``).

Prefers nodes whose cpu and memory utilisation stay close to each other after placing the
pod: ``(1 - |cpu_fraction - memory_fraction| / 2) * 100``, fractions capped at 1. Pods that
request neither cpu nor memory skip this score, as upstream does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from steersman.scheduler.framework.interface import (
    MAX_NODE_SCORE,
    SKIP,
    SUCCESS,
    CycleState,
    Handle,
    Status,
)
from steersman.scheduler.framework.types import NodeInfo, PodInfo

BALANCED_ALLOCATION = "NodeResourcesBalancedAllocation"


class BalancedAllocation:
    name = BALANCED_ALLOCATION

    def pre_score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> Status:
        if not pod.request_cpu and not pod.request_memory:
            return SKIP
        return SUCCESS

    def score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> list[int]:
        # The runtime memoises node-local scores itself (score_key/score_node), summed.
        return [self.score_node(pod, node) for node in nodes]

    def score_key(self, pod: PodInfo) -> str:
        return f"{BALANCED_ALLOCATION}/{pod.request_cpu}/{pod.request_memory}"

    def score_node(self, pod: PodInfo, node: NodeInfo) -> int:
        return balance(node, pod.request_cpu, pod.request_memory)


def balance(node: NodeInfo, cpu: int, memory: int) -> int:
    """``(1 - |cpu_fraction - memory_fraction| / 2) * 100`` once the pod is placed."""
    cpu_capacity, memory_capacity = node.alloc_cpu, node.alloc_memory
    if not cpu_capacity or not memory_capacity:
        return MAX_NODE_SCORE  # one fraction or none: upstream's std is 0
    cpu_fraction = min((node.requested_cpu + cpu) / cpu_capacity, 1.0)
    memory_fraction = min((node.requested_memory + memory) / memory_capacity, 1.0)
    return int((1 - abs(cpu_fraction - memory_fraction) / 2) * MAX_NODE_SCORE)


def new_balanced_allocation(_args: Mapping[str, Any], _handle: Handle) -> BalancedAllocation:
    return BalancedAllocation()
