"""NodeAffinity (upstream ``plugins/nodeaffinity``).

PreFilter skips pods with neither ``nodeSelector`` nor required node affinity, and narrows
the cycle to the named nodes when every required term pins ``metadata.name``. Filter
rejects, unresolvably, nodes that do not match. Score sums the weights of the preferred
terms a node matches, normalised so the best node gets 100; a node's sum is memoised
(``NodeInfo.score_memo``) under the terms' value, so replicas of one Deployment share it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from steersman.scheduler.framework.affinity import PreferredNodeTerm, matches_compiled
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
_MEMO = "NodeAffinity.score_key"


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
        terms, key = pod.preferred_node_terms, _score_key(pod)
        # Hot path: a memoised score is one dict lookup (NodeInfo.score_memo).
        return [memo[key] if key in (memo := node.score_memo)
                else node.remember_score(key, preference(terms, node)) for node in nodes]

    def normalize_scores(self, state: CycleState, pod: PodInfo, scores: list[int]) -> None:
        default_normalize(scores)


def preference(terms: Sequence[PreferredNodeTerm], node: NodeInfo) -> int:
    """The summed weights of the preferred terms ``node`` matches."""
    if len(terms) == 1 and terms[0].term.fields.empty and terms[0].term.compiled:
        only = terms[0]  # the common case
        return only.weight if matches_compiled(only.term.compiled, node.labels) else 0
    return sum(p.weight for p in terms if p.term.matches(node.labels, node.name))


def _score_key(pod: PodInfo) -> str:
    """The pod's preferred terms as a score memo key (their repr: frozen values all down)."""
    key = pod.memo.get(_MEMO)
    if key is None:
        key = pod.memo[_MEMO] = f"{NAME}/{pod.preferred_node_terms!r}"
    return str(key)


def new(_args: Mapping[str, Any], _handle: Handle) -> NodeAffinity:
    return NodeAffinity()
