"""PodTopologySpread (upstream ``plugins/podtopologyspread``): wiring of the phases.

System default constraints (upstream spreads Service/ReplicaSet pods by hostname and zone
when a pod has none) are not applied: the scheduler is not fed those objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from steersman.api.selectors import SelectorError
from steersman.scheduler.framework.interface import (
    SKIP,
    SUCCESS,
    CycleState,
    Handle,
    PreFilterResult,
    StateKey,
    Status,
    unresolvable,
)
from steersman.scheduler.framework.types import NodeInfo, PodInfo
from steersman.scheduler.plugins.pod_topology_spread.filtering import (
    ConstraintState,
    check_node,
    check_nodes,
    filter_state,
)
from steersman.scheduler.plugins.pod_topology_spread.scoring import (
    ScoreState,
    node_scores,
    normalize,
    score_state,
)

NAME = "PodTopologySpread"
_FILTER_KEY: StateKey[list[ConstraintState]] = StateKey("PreFilter" + NAME)
_SCORE_KEY: StateKey[ScoreState] = StateKey("PreScore" + NAME)


class PodTopologySpread:
    name = NAME

    def pre_filter(self, state: CycleState, pod: PodInfo) -> tuple[PreFilterResult | None, Status]:
        try:
            computed = filter_state(state.snapshot, pod)
        except SelectorError as exc:
            return None, unresolvable(str(exc), plugin=NAME)
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
        try:
            computed = score_state(state.snapshot, pod, nodes)
        except SelectorError as exc:
            return unresolvable(str(exc), plugin=NAME)
        if computed is None:
            return SKIP
        state.write(_SCORE_KEY, computed)
        return SUCCESS

    def score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> list[int]:
        return node_scores(state.read(_SCORE_KEY), nodes)

    def normalize_scores(self, state: CycleState, pod: PodInfo, scores: list[int]) -> None:
        normalize(scores)


def new(_args: Mapping[str, Any], _handle: Handle) -> PodTopologySpread:
    return PodTopologySpread()
