"""The framework runtime: one profile's plugins, run extension point by extension point.

:class:`Framework` is what ``frameworkImpl`` is upstream: it holds the plugins a profile
enables (built by :mod:`steersman.scheduler.plugins.registry`), in order, and runs them.
Ordering constraints:

* PreFilter runs every plugin even after one returns ``SKIP`` (the skip only disables that
  plugin's Filter); the first rejection ends the cycle.
* Filter stops at a node's first rejecting plugin: that status is the node's reason.
* Nominated pods (preemptors waiting for their victims to leave) of equal or higher priority
  count as present on their node, so nobody takes the room they were promised.
* Score plugins get one batched call each; normalisation happens before weighting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain, islice
from operator import add
from typing import Any

from steersman.scheduler.framework.interface import (
    MAX_NODE_SCORE,
    SUCCESS,
    BindPlugin,
    Code,
    CycleState,
    FilterPlugin,
    PostFilterPlugin,
    PostFilterResult,
    PreBindPlugin,
    PreFilterPlugin,
    PreFilterResult,
    PreScorePlugin,
    QueueSortPlugin,
    ReservePlugin,
    ScoreNormalizer,
    ScorePlugin,
    Status,
    error,
    unresolvable,
)
from steersman.scheduler.framework.types import NodeInfo, PodInfo

MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE = 5
BASE_PERCENTAGE_OF_NODES_TO_SCORE = 50


@dataclass(frozen=True, slots=True)
class WeightedScorer:
    plugin: ScorePlugin
    weight: int
    normalizer: ScoreNormalizer | None


@dataclass(slots=True)
class FilterOutcome:
    """Feasible nodes found, per-node rejections, and how many nodes were looked at."""

    feasible: list[NodeInfo]
    statuses: dict[str, Status] = field(default_factory=dict)
    processed: int = 0


def num_feasible_nodes_to_find(percentage: int, num_all_nodes: int) -> int:
    """``numFeasibleNodesToFind``: 0 means adaptive (50% at 100 nodes, -1% per 125, ≥5%)."""
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND:
        return num_all_nodes
    if percentage <= 0:
        percentage = max(BASE_PERCENTAGE_OF_NODES_TO_SCORE - num_all_nodes // 125,
                         MIN_FEASIBLE_NODES_PERCENTAGE)
    return max(num_all_nodes * min(percentage, 100) // 100, MIN_FEASIBLE_NODES_TO_FIND)


class Framework:
    """A profile's plugins, ready to run."""

    def __init__(self, *, scheduler_name: str, plugins: Sequence[Any],
                 score_weights: Mapping[str, int], percentage_of_nodes_to_score: int = 0
                 ) -> None:
        self.scheduler_name = scheduler_name
        self.percentage_of_nodes_to_score = percentage_of_nodes_to_score
        self.queue_sort = _only(plugins, QueueSortPlugin)
        self.pre_filters = _all(plugins, PreFilterPlugin)
        self.filters = _all(plugins, FilterPlugin)
        self.post_filters = _all(plugins, PostFilterPlugin)
        self.pre_scores = _all(plugins, PreScorePlugin)
        self.scorers = [WeightedScorer(p, score_weights.get(p.name, 1),
                                       p if isinstance(p, ScoreNormalizer) else None)
                        for p in _all(plugins, ScorePlugin)]
        self.reserves = _all(plugins, ReservePlugin)
        self.pre_binders = _all(plugins, PreBindPlugin)
        self.binders = _all(plugins, BindPlugin)

    def run_pre_filter(self, state: CycleState, pod: PodInfo
                       ) -> tuple[PreFilterResult | None, Status]:
        names: frozenset[str] | None = None
        restricting: list[str] = []
        for plugin in self.pre_filters:
            result, status = plugin.pre_filter(state, pod)
            if status.code is Code.SKIP:
                state.skip_filter.add(plugin.name)
                continue
            if not status.is_success:
                return None, _attributed(status, plugin.name)
            if result is not None and result.node_names is not None:
                names = result.node_names if names is None else names & result.node_names
                restricting.append(plugin.name)
        if names is None:
            return None, SUCCESS
        if not names:
            return None, unresolvable(
                f"node(s) didn't satisfy plugin(s) [{' '.join(restricting)}] simultaneously")
        return PreFilterResult(names, tuple(restricting)), SUCCESS

    def active_filters(self, state: CycleState) -> list[FilterPlugin]:
        return [p for p in self.filters if p.name not in state.skip_filter]

    def run_filters(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        """All active filters on one node; the first rejection wins."""
        for plugin in self.active_filters(state):
            status = plugin.filter(state, pod, node)
            if status.code is not Code.SUCCESS:
                return _attributed(status, plugin.name)
        return SUCCESS

    def find_feasible(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo], *,
                      start: int, want: int,
                      nominated: Mapping[str, Sequence[PodInfo]] | None = None) -> FilterOutcome:
        """Filter nodes from ``start`` (wrapping) until ``want`` feasible ones are found."""
        filters = [p.filter for p in self.active_filters(state)]
        outcome = FilterOutcome([])
        feasible, statuses = outcome.feasible, outcome.statuses
        start = start % len(nodes) if nodes else 0
        ordered = chain(islice(nodes, start, None), islice(nodes, 0, start))
        success, ok = SUCCESS, Code.SUCCESS
        processed = 0
        # Hot path: plugins return the SUCCESS singleton, so identity settles most checks.
        for processed, node in enumerate(ordered, 1):  # noqa: B007 (read after the loop)
            if nominated and node.name in nominated:
                status = self._filter_with_nominated(state, pod, node, nominated[node.name])
                if status.code is not ok:
                    statuses[node.name] = status
                    continue
            else:
                for check in filters:
                    status = check(state, pod, node)
                    if status is not success and status.code is not ok:
                        break
                else:
                    status = success
                if status is not success and status.code is not ok:
                    statuses[node.name] = status
                    continue
            feasible.append(node)
            if len(feasible) >= want:
                break
        outcome.processed = processed
        return outcome

    def _filter_with_nominated(self, state: CycleState, pod: PodInfo, node: NodeInfo,
                               nominated: Sequence[PodInfo]) -> Status:
        ahead = [p for p in nominated if p.uid != pod.uid and p.priority >= pod.priority]
        if ahead:
            crowded = node.clone()
            for other in ahead:
                crowded.add_pod(other)
            status = self.run_filters(state, pod, crowded)
            if not status.is_success:
                return status
        return self.run_filters(state, pod, node)

    def run_post_filter(self, state: CycleState, pod: PodInfo, statuses: Mapping[str, Status]
                        ) -> tuple[PostFilterResult | None, Status]:
        last = unresolvable()
        for plugin in self.post_filters:
            result, status = plugin.post_filter(state, pod, statuses)
            if status.is_success or status.code is Code.ERROR:
                return result, status
            last = status
        return None, last

    def score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> list[int]:
        """Weighted totals per node: PreScore, Score, normalise, weigh, sum."""
        for plugin in self.pre_scores:
            status = plugin.pre_score(state, pod, nodes)
            if status.code is Code.SKIP:
                state.skip_score.add(plugin.name)
            elif not status.is_success:
                raise SchedulingError(_attributed(status, plugin.name).message())
        totals = [0] * len(nodes)
        for scorer in self.scorers:
            if scorer.plugin.name in state.skip_score:
                continue
            totals = _weighted_sum(totals, self._scores(scorer, state, pod, nodes), scorer.weight)
        return totals

    @staticmethod
    def _scores(scorer: WeightedScorer, state: CycleState, pod: PodInfo,
                nodes: Sequence[NodeInfo]) -> list[int]:
        scores = scorer.plugin.score(state, pod, nodes)
        if scorer.normalizer is not None:
            scorer.normalizer.normalize_scores(state, pod, scores)
        if scores and (min(scores) < 0 or max(scores) > MAX_NODE_SCORE):
            raise SchedulingError(f"plugin {scorer.plugin.name} returned a score outside 0..100")
        return scores

    def run_reserve(self, state: CycleState, pod: PodInfo, node_name: str) -> Status:
        for index, plugin in enumerate(self.reserves):
            status = plugin.reserve(state, pod, node_name)
            if not status.is_success:
                self._unreserve(self.reserves[: index + 1], state, pod, node_name)
                return _attributed(status, plugin.name)
        return SUCCESS

    def run_unreserve(self, state: CycleState, pod: PodInfo, node_name: str) -> None:
        self._unreserve(self.reserves, state, pod, node_name)

    @staticmethod
    def _unreserve(plugins: Iterable[ReservePlugin], state: CycleState, pod: PodInfo,
                   node_name: str) -> None:
        for plugin in reversed(list(plugins)):
            plugin.unreserve(state, pod, node_name)

    async def run_pre_bind(self, state: CycleState, pod: PodInfo, node_name: str) -> Status:
        for plugin in self.pre_binders:
            status = await plugin.pre_bind(state, pod, node_name)
            if not status.is_success and status.code is not Code.SKIP:
                return _attributed(status, plugin.name)
        return SUCCESS

    async def run_bind(self, state: CycleState, pod: PodInfo, node_name: str) -> Status:
        for plugin in self.binders:
            status = await plugin.bind(state, pod, node_name)
            if status.code is not Code.SKIP:
                return _attributed(status, plugin.name)
        return error("no bind plugin bound the pod")


class SchedulingError(Exception):
    """An internal failure of a plugin (a bug or corrupt state), not a scheduling outcome."""


def _weighted_sum(totals: list[int], scores: list[int], weight: int) -> list[int]:
    if len(totals) != len(scores):
        raise SchedulingError("a score plugin returned the wrong number of scores")
    if weight != 1:
        scores = [s * weight for s in scores]
    return list(map(add, totals, scores))


def _attributed(status: Status, plugin: str) -> Status:
    if status.plugin:
        return status
    return Status(status.code, status.reasons, plugin)


def _all(plugins: Iterable[Any], kind: type) -> list[Any]:
    return [p for p in plugins if isinstance(p, kind)]


def _only(plugins: Iterable[Any], kind: type) -> Any:
    found = _all(plugins, kind)
    if len(found) != 1:
        raise ValueError(f"a profile needs exactly one {kind.__name__}, got {len(found)}")
    return found[0]
