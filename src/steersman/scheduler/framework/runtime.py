"""The framework runtime: one profile's plugins, run extension point by extension point.

:class:`Framework` is what ``frameworkImpl`` is upstream: it holds the plugins a profile
enables (built by :mod:`steersman.scheduler.plugins.registry`), in order, and runs them.
Ordering constraints:

* PreFilter runs every plugin even after one returns ``SKIP`` (the skip only disables that
  plugin's Filter); the first rejection ends the cycle.
* Filter stops at a node's first rejecting plugin: that status is the node's reason.
* Nominated pods (preemptors waiting for their victims to leave) of equal or higher priority
  count as present on their node, so nobody takes the room they were promised.
* Score plugins get one batched call each; normalisation happens before weighting. The
  exceptions give the same totals for less: node-local plugins (``NodeLocalScorer``) are
  asked node by node only where a node's memoised weighted sum of them is missing, and a
  ``UniformScorer`` that knows every node scores alike adds that number once.
* Plugins return the ``SUCCESS`` singleton on the hot paths; identity settles most checks.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import repeat
from operator import add, mul
from typing import Any

from steersman.scheduler.framework.interface import (
    MAX_NODE_SCORE,
    MIN_NODE_SCORE,
    SUCCESS,
    BatchFilterPlugin,
    BindPlugin,
    Code,
    CycleState,
    FilterPlugin,
    NodeLocalScorer,
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
    UniformScorer,
    error,
    filter_each,
    unresolvable,
)
from steersman.scheduler.framework.types import NodeInfo, PodInfo

MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE = 5
BASE_PERCENTAGE_OF_NODES_TO_SCORE = 50
MIN_FILTER_BATCH = 32
BatchFilter = Callable[[CycleState, PodInfo, list[NodeInfo], dict[str, Status]], list[NodeInfo]]


@dataclass(frozen=True, slots=True)
class WeightedScorer:
    plugin: ScorePlugin
    weight: int
    normalizer: ScoreNormalizer | None
    local: NodeLocalScorer | None  # its score is memoised with the other node-local ones
    uniform: UniformScorer | None


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
        self._batched: dict[str, BatchFilter] = {
            p.name: p.filter_nodes if isinstance(p, BatchFilterPlugin) else _one_by_one(p)
            for p in self.filters}
        self.post_filters = _all(plugins, PostFilterPlugin)
        self.pre_scores = _all(plugins, PreScorePlugin)
        self.scorers = [_weighted(p, score_weights.get(p.name, 1))
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
        """Filter nodes from ``start`` (wrapping) until ``want`` feasible ones are found.

        Nodes go through the filters a batch at a time (``filter_nodes`` where a plugin has
        it), a batch being as many nodes as feasible ones are still wanted, or
        :data:`MIN_FILTER_BATCH`. Nodes past the ``want``-th feasible one are given back —
        neither processed nor reported — so the outcome is that of a node-by-node scan.
        """
        outcome = FilterOutcome([])
        size = len(nodes)
        ring = nodes if isinstance(nodes, list) else list(nodes)
        runs = [self._batched[p.name] for p in self.filters if p.name not in state.skip_filter]
        if nominated:
            runs = [partial(self._filter_each_with_nominated, runs=runs, nominated=nominated)]
        missing, statuses, taken = want, outcome.statuses, 0
        while missing > 0 and taken < size:
            batch = _window(ring, (start + taken) % size,
                            min(max(missing, MIN_FILTER_BATCH), size - taken))
            taken += len(batch)
            passed = _through(runs, state, pod, batch, statuses)
            processed = len(batch)
            if len(passed) >= missing:
                passed, processed = _give_back(batch, passed[:missing], statuses)
            outcome.feasible += passed
            outcome.processed += processed
            missing -= len(passed)
        return outcome

    def _filter_each_with_nominated(self, state: CycleState, pod: PodInfo,
                                    nodes: list[NodeInfo], rejected: dict[str, Status], *,
                                    runs: list[BatchFilter],
                                    nominated: Mapping[str, Sequence[PodInfo]]
                                    ) -> list[NodeInfo]:
        passed = []
        for node in nodes:
            others = nominated.get(node.name)
            if others is None:
                passed += _through(runs, state, pod, [node], rejected)
                continue
            status = self._filter_with_nominated(state, pod, node, others)
            if status.code is Code.SUCCESS:
                passed.append(node)
            else:
                rejected[node.name] = status
        return passed

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
        varying, uniform = self.score_parts(state, pod, nodes)
        return list(map(add, varying, repeat(uniform))) if uniform else varying

    def score_parts(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]
                    ) -> tuple[list[int], int]:
        """:meth:`score` in two parts: per node, the sum of the weighted scores that differ
        between nodes, and the one number every node adds to that (plugins that score all
        nodes alike, such as TaintToleration while no node has a PreferNoSchedule taint).

        The best nodes and their ties are the same without that number, so the cycle skips
        adding it node by node. The node-local plugins' weighted sum
        (:class:`NodeLocalScorer`) is one memo lookup per node; a :class:`UniformScorer` that
        knows its score is alike everywhere is not asked per node.
        """
        self._run_pre_score(state, pod, nodes)
        active = [s for s in self.scorers if s.plugin.name not in state.skip_score]
        local = [s for s in active if s.local is not None]
        totals = _local_totals(local, pod, nodes) if local else None
        same_for_all = 0
        for scorer in active:
            if scorer.local is not None:
                continue
            alike = None if scorer.uniform is None else scorer.uniform.uniform_score(state, pod)
            if alike is not None:
                same_for_all += _checked(scorer, alike) * scorer.weight
                continue
            scores, lowest, highest = self._scores(scorer, state, pod, nodes)
            weight = scorer.weight
            if lowest == highest:
                same_for_all += lowest * weight
            elif totals is None:
                totals = scores if weight == 1 else [s * weight for s in scores]
            else:
                weighted = scores if weight == 1 else map(mul, scores, repeat(weight))
                totals = list(map(add, totals, weighted))
        return ([0] * len(nodes) if totals is None else totals), same_for_all

    def _run_pre_score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]
                       ) -> None:
        for plugin in self.pre_scores:
            status = plugin.pre_score(state, pod, nodes)
            if status.code is Code.SKIP:
                state.skip_score.add(plugin.name)
            elif not status.is_success:
                raise SchedulingError(_attributed(status, plugin.name).message())

    @staticmethod
    def _scores(scorer: WeightedScorer, state: CycleState, pod: PodInfo,
                nodes: Sequence[NodeInfo]) -> tuple[list[int], int, int]:
        """A plugin's normalised scores, checked, with their lowest and highest value."""
        scores = scorer.plugin.score(state, pod, nodes)
        if len(scores) != len(nodes):
            raise SchedulingError(f"plugin {scorer.plugin.name} returned {len(scores)} scores "
                                  f"for {len(nodes)} nodes")
        if scorer.normalizer is not None:
            scorer.normalizer.normalize_scores(state, pod, scores)
        if scores and scores.count(scores[0]) == len(scores):  # alike: one cheap pass
            lowest = highest = scores[0]
        else:
            lowest, highest = min(scores, default=0), max(scores, default=0)
        _checked(scorer, lowest)
        _checked(scorer, highest)
        return scores, lowest, highest

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


def _weighted(plugin: ScorePlugin, weight: int) -> WeightedScorer:
    normalizer = plugin if isinstance(plugin, ScoreNormalizer) else None
    local = plugin if isinstance(plugin, NodeLocalScorer) and normalizer is None else None
    uniform = plugin if isinstance(plugin, UniformScorer) else None
    return WeightedScorer(plugin, weight, normalizer, local, uniform)


def _checked(scorer: WeightedScorer, score: int) -> int:
    if not MIN_NODE_SCORE <= score <= MAX_NODE_SCORE:
        raise SchedulingError(f"plugin {scorer.plugin.name} returned a score outside 0..100")
    return score


def _local_totals(scorers: list[WeightedScorer], pod: PodInfo, nodes: Sequence[NodeInfo]
                  ) -> list[int]:
    """Per node, the weighted sum of the node-local scores, memoised as one entry."""
    parts = [(s, s.local) for s in scorers if s.local is not None]
    # Interned, so a lookup matches a stored key by identity, without comparing the text.
    key = sys.intern(" + ".join(f"{s.weight} x {local.score_key(pod)}" for s, local in parts))

    def total(node: NodeInfo) -> int:
        weighted = 0
        for scorer, local in parts:
            weighted += _checked(scorer, local.score_node(pod, node)) * scorer.weight
        return node.remember_local_total(key, weighted)

    # Hot path: after a node's first cycle since it changed, one slot read per node.
    return [node.local_total if node.local_total_key is key
            else memo[key] if key in (memo := node.score_memo) else total(node)
            for node in nodes]


def _through(runs: list[BatchFilter], state: CycleState, pod: PodInfo, nodes: list[NodeInfo],
             rejected: dict[str, Status]) -> list[NodeInfo]:
    """``nodes`` through every filter in order; each plugin sees only the previous' passes."""
    for run in runs:
        if not nodes:
            break
        nodes = run(state, pod, nodes, rejected)
    return nodes


def _window(ring: list[NodeInfo], first: int, count: int) -> list[NodeInfo]:
    """``count`` nodes from index ``first``, wrapping past the end (``count`` ≤ len)."""
    end = first + count
    if end <= len(ring):
        return ring[first:end]
    return ring[first:] + ring[:end - len(ring)]


def _one_by_one(plugin: FilterPlugin) -> BatchFilter:
    """``filter_nodes`` for a plugin that only filters one node at a time."""
    check = plugin.filter

    def filter_nodes(state: CycleState, pod: PodInfo, nodes: list[NodeInfo],
                     rejected: dict[str, Status]) -> list[NodeInfo]:
        return filter_each(nodes, partial(check, state, pod), rejected)

    return filter_nodes


def _give_back(batch: list[NodeInfo], kept: list[NodeInfo], rejected: dict[str, Status]
               ) -> tuple[list[NodeInfo], int]:
    """Forget the nodes of ``batch`` after the last ``kept`` one: a node-by-node scan would
    have stopped there. Returns ``kept`` and how many nodes of the batch count as processed."""
    # The last kept node is at least as far in as there are kept nodes: search from there.
    processed = batch.index(kept[-1], len(kept) - 1) + 1
    for node in batch[processed:]:
        rejected.pop(node.name, None)
    return kept, processed


class SchedulingError(Exception):
    """An internal failure of a plugin (a bug or corrupt state), not a scheduling outcome."""


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
