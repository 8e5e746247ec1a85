"""NodeAffinity (upstream ``plugins/nodeaffinity``).

PreFilter skips pods with neither ``nodeSelector`` nor required node affinity, and narrows
the cycle to the named nodes when every required term pins ``metadata.name``. Filter
rejects, unresolvably, nodes that do not match. Score sums the weights of the preferred
terms a node matches, normalised so the best node gets 100.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from steersman.scheduler.framework.affinity import matches_compiled
from steersman.scheduler.framework.interface import (
    SKIP,
    SUCCESS,
    CycleState,
    Handle,
    PreFilterResult,
    Status,
    unresolvable,
)
from steersman.scheduler.framework.normalize import default_normalize
from steersman.scheduler.framework.types import NodeInfo, PodInfo

NAME = "NodeAffinity"
ERR_REASON = "node(s) didn't match Pod's node affinity/selector"
_REJECTED = unresolvable(ERR_REASON, plugin=NAME)


class NodeAffinity:
    name = NAME

    def pre_filter(self, state: CycleState, pod: PodInfo) -> tuple[PreFilterResult | None, Status]:
        required = pod.required_node_affinity
        if required is None:
            return None, SKIP
        pinned = required.pinned_node_names()
        if pinned is not None and not pinned:
            return None, _REJECTED
        return (None if pinned is None else PreFilterResult(pinned)), SUCCESS

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        required = pod.required_node_affinity
        if required is None or required.matches(node.labels, node.name):
            return SUCCESS
        return _REJECTED

    def pre_score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> Status:
        return SUCCESS if pod.preferred_node_terms else SKIP

    def score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> list[int]:
        terms = pod.preferred_node_terms
        if len(terms) == 1 and terms[0].term.fields.empty and terms[0].term.compiled:
            weight, compiled = terms[0].weight, terms[0].term.compiled  # the common case
            return [weight if matches_compiled(compiled, node.labels) else 0 for node in nodes]
        return [sum(p.weight for p in terms if p.term.matches(node.labels, node.name))
                for node in nodes]

    def normalize_scores(self, state: CycleState, pod: PodInfo, scores: list[int]) -> None:
        default_normalize(scores)


def new(_args: Mapping[str, Any], _handle: Handle) -> NodeAffinity:
    return NodeAffinity()
