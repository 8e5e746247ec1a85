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
from steersman.scheduler.framework.resources import CPU, MEMORY
from steersman.scheduler.framework.types import NodeInfo, PodInfo

BALANCED_ALLOCATION = "NodeResourcesBalancedAllocation"


class BalancedAllocation:
    name = BALANCED_ALLOCATION

    def pre_score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> Status:
        if not pod.requests.get(CPU) and not pod.requests.get(MEMORY):
            return SKIP
        return SUCCESS

    def score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> list[int]:
        cpu, memory = pod.requests.get(CPU, 0), pod.requests.get(MEMORY, 0)
        scores = []
        for node in nodes:  # hot path: inlined arithmetic, no per-node calls
            cpu_capacity, memory_capacity = node.alloc_cpu, node.alloc_memory
            if not cpu_capacity or not memory_capacity:
                scores.append(MAX_NODE_SCORE)  # one fraction or none: upstream's std is 0
                continue
            cpu_fraction = (node.requested_cpu + cpu) / cpu_capacity
            memory_fraction = (node.requested_memory + memory) / memory_capacity
            if cpu_fraction > 1.0:
                cpu_fraction = 1.0
            if memory_fraction > 1.0:
                memory_fraction = 1.0
            spread = cpu_fraction - memory_fraction
            scores.append(int((1 - (spread if spread >= 0 else -spread) / 2) * MAX_NODE_SCORE))
        return scores


def new_balanced_allocation(_args: Mapping[str, Any], _handle: Handle) -> BalancedAllocation:
    return BalancedAllocation()
