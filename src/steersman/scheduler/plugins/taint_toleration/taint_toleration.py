"""TaintToleration (upstream ``plugins/tainttoleration``).

Filter: the first NoSchedule/NoExecute taint the pod does not tolerate rejects the node,
unresolvably, naming the taint. Score: the number of PreferNoSchedule taints the pod does
not tolerate, normalised in reverse (fewer is better).

While no node carries a hard taint (the snapshot's :class:`NodeTraits`), PreFilter returns
``SKIP``, so Filter is not called once per node for nothing; while none carries a
PreferNoSchedule taint, every node scores 0 without being looked at. Upstream has no
PreFilter here and runs Filter on every node; the outcome is the same.
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
    PreFilterResult,
    Status,
    unresolvable,
)
from steersman.scheduler.framework.normalize import default_normalize
from steersman.scheduler.framework.taints import (
    DO_NOT_SCHEDULE_EFFECTS,
    PREFER_NO_SCHEDULE,
    find_untolerated,
    tolerated,
)
from steersman.scheduler.framework.types import NodeInfo, PodInfo

NAME = "TaintToleration"


def untolerated_reason(key: str, value: str) -> str:
    return f"node(s) had untolerated taint {{{key}: {value}}}"


class TaintToleration:
    name = NAME

    def pre_filter(self, state: CycleState, pod: PodInfo) -> tuple[PreFilterResult | None, Status]:
        return None, (SUCCESS if state.snapshot.node_traits().hard_tainted else SKIP)

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        if not node.hard_taints:
            return SUCCESS
        taint = find_untolerated(node.hard_taints, pod.tolerations, DO_NOT_SCHEDULE_EFFECTS)
        if taint is None:
            return SUCCESS
        return unresolvable(untolerated_reason(taint.key, taint.value), plugin=NAME)

    def score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> list[int]:
        if not state.snapshot.node_traits().soft_tainted:
            return [0] * len(nodes)
        tolerations = tuple(t for t in pod.tolerations
                            if not t.effect or t.effect == PREFER_NO_SCHEDULE)
        return [sum(1 for taint in node.prefer_no_schedule_taints
                    if not tolerated(taint, tolerations))
                if node.prefer_no_schedule_taints else 0
                for node in nodes]

    def normalize_scores(self, state: CycleState, pod: PodInfo, scores: list[int]) -> None:
        default_normalize(scores, reverse=True)

    def uniform_score(self, state: CycleState, pod: PodInfo) -> int | None:
        """No PreferNoSchedule taint anywhere: every node scores 0, reversed to 100."""
        return None if state.snapshot.node_traits().soft_tainted else MAX_NODE_SCORE


def new(_args: Mapping[str, Any], _handle: Handle) -> TaintToleration:
    return TaintToleration()
