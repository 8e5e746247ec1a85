"""InterPodAffinity (upstream ``plugins/interpodaffinity/plugin.go``): wiring of the phases.

Filtering (:mod:`.filtering`) and scoring (:mod:`.scoring`) each precompute per-topology-
domain counts once per cycle, from the cache's incrementally maintained indexes, so the
per-node work is a few dict lookups rather than a walk over every pod.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from steersman.scheduler.framework.interface import (
    SKIP,
    SUCCESS,
    CycleState,
    Handle,
    PreFilterResult,
    StateKey,
    Status,
)
from steersman.scheduler.framework.normalize import min_max_normalize
from steersman.scheduler.framework.types import NodeInfo, PodInfo
from steersman.scheduler.plugins.inter_pod_affinity.filtering import (
    FilterState,
    check_node,
    check_nodes,
    filter_state,
)
from steersman.scheduler.plugins.inter_pod_affinity.scoring import (
    TopologyScores,
    node_scores,
    topology_scores,
)

NAME = "InterPodAffinity"
DEFAULT_HARD_POD_AFFINITY_WEIGHT = 1
_FILTER_KEY: StateKey[FilterState] = StateKey("PreFilter" + NAME)
_SCORE_KEY: StateKey[TopologyScores] = StateKey("PreScore" + NAME)


class InterPodAffinity:
    name = NAME

    def __init__(self, *, hard_pod_affinity_weight: int = DEFAULT_HARD_POD_AFFINITY_WEIGHT
                 ) -> None:
        self.hard_pod_affinity_weight = hard_pod_affinity_weight

    def pre_filter(self, state: CycleState, pod: PodInfo) -> tuple[PreFilterResult | None, Status]:
        computed = filter_state(state.snapshot, pod)
        if computed is None:
            return None, SKIP
        state.write(_FILTER_KEY, computed)
        return None, SUCCESS

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        return check_node(state.read(_FILTER_KEY), node)

    def filter_nodes(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo],
                     rejected: dict[str, Status]) -> list[NodeInfo]:
        return check_nodes(state.read(_FILTER_KEY), nodes, rejected)

    def pre_score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> Status:
        scores = topology_scores(state.snapshot, pod, self.hard_pod_affinity_weight)
        if scores is None:
            return SKIP
        state.write(_SCORE_KEY, scores)
        return SUCCESS

    def score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> list[int]:
        return node_scores(state.read(_SCORE_KEY), nodes)

    def normalize_scores(self, state: CycleState, pod: PodInfo, scores: list[int]) -> None:
        min_max_normalize(scores)


def new(args: Mapping[str, Any], _handle: Handle) -> InterPodAffinity:
    weight = int(args.get("hardPodAffinityWeight", DEFAULT_HARD_POD_AFFINITY_WEIGHT))
    return InterPodAffinity(hard_pod_affinity_weight=weight)
