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
        return [_balanced(node.requested.get(CPU, 0) + cpu, node.allocatable.get(CPU, 0),
                          node.requested.get(MEMORY, 0) + memory,
                          node.allocatable.get(MEMORY, 0))
                for node in nodes]


def _balanced(cpu: int, cpu_capacity: int, memory: int, memory_capacity: int) -> int:
    if not cpu_capacity or not memory_capacity:
        return MAX_NODE_SCORE  # one fraction or none: upstream's std is 0
    cpu_fraction = min(cpu / cpu_capacity, 1.0)
    memory_fraction = min(memory / memory_capacity, 1.0)
    return int((1 - abs(cpu_fraction - memory_fraction) / 2) * MAX_NODE_SCORE)


def new_balanced_allocation(_args: Mapping[str, Any], _handle: Handle) -> BalancedAllocation:
    return BalancedAllocation()
