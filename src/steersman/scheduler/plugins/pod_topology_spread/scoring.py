"""PodTopologySpread scoring (upstream ``podtopologyspread/scoring.go``).

For ScheduleAnyway constraints a node's raw score is
``Σ count_in_domain x log(domains + 2) + (maxSkew - 1)`` — fewer matching pods is better —
so normalisation reverses it: ``100 x (max + min - s) / max``. Nodes lacking a topology key
score 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from steersman.scheduler.framework.interface import MAX_NODE_SCORE, Snapshot
from steersman.scheduler.framework.types import NodeInfo, PodInfo
from steersman.scheduler.plugins.pod_topology_spread.constraints import (
    SCHEDULE_ANYWAY,
    DomainCounts,
    SpreadConstraint,
    constraints,
    count_domains,
)

IGNORED = -1


@dataclass(frozen=True, slots=True)
class ScoreState:
    weighted: list[tuple[SpreadConstraint, DomainCounts, float]]


def score_state(snapshot: Snapshot, pod: PodInfo, nodes: Sequence[NodeInfo]) -> ScoreState | None:
    chosen = [c for c in constraints(pod) if c.when_unsatisfiable == SCHEDULE_ANYWAY]
    if not chosen:
        return None
    weighted = []
    for constraint, counts in zip(chosen, count_domains(snapshot, pod, chosen), strict=True):
        values = {node.labels.get(constraint.topology_key) for node in nodes} - {None}
        weighted.append((constraint, counts, math.log(len(values) + 2)))
    return ScoreState(weighted)


def node_scores(state: ScoreState, nodes: Sequence[NodeInfo]) -> list[int]:
    scores = []
    for node in nodes:
        labels = node.labels
        total = 0.0
        for constraint, counts, weight in state.weighted:
            value = labels.get(constraint.topology_key)
            if value is None:
                total = IGNORED
                break
            total += counts.counts.get(value, 0) * weight + constraint.max_skew - 1
        scores.append(IGNORED if total == IGNORED else round(total))
    return scores


def normalize(scores: list[int]) -> None:
    valid = [s for s in scores if s != IGNORED]
    if not valid:
        scores[:] = [0] * len(scores)
        return
    low, high = min(valid), max(valid)
    for index, score in enumerate(scores):
        if score == IGNORED:
            scores[index] = 0
        elif high == 0:
            scores[index] = MAX_NODE_SCORE
        else:
            scores[index] = MAX_NODE_SCORE * (high + low - score) // high
