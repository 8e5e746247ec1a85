"""One pod's placement decision, pure and synchronous (upstream ``schedule_one.go``).

``schedulePod``: PreFilter → (the nominated node alone, if the pod has one and it fits) →
Filter from a rotating start index until ``numFeasibleNodesToFind`` nodes fit → Score →
pick the best, ties broken by the seeded RNG. The start index advances by the number of
nodes examined, so consecutive pods look at different parts of the cluster, as upstream.
No I/O and no awaiting: :mod:`.scheduler` owns the side effects.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import compress, count, islice, repeat
from operator import eq

from steersman.scheduler.framework.fit_error import FitError
from steersman.scheduler.framework.interface import (
    Code,
    CycleState,
    PreFilterResult,
    Status,
    unresolvable,
)
from steersman.scheduler.framework.runtime import (
    Framework,
    SchedulingError,
    num_feasible_nodes_to_find,
)
from steersman.scheduler.framework.types import NodeInfo, PodInfo

NO_NODES_AVAILABLE = "no nodes available to schedule pods"


@dataclass(frozen=True, slots=True)
class ScheduleResult:
    node_name: str
    evaluated: int
    feasible: int


class Algorithm:
    """Decides where one pod goes; keeps the rotating start index between cycles."""

    def __init__(self, framework: Framework, *, rng: random.Random) -> None:
        self._framework = framework
        self._rng = rng
        self._next_start = 0

    def schedule(self, state: CycleState, pod: PodInfo,
                 nominated: Mapping[str, Sequence[PodInfo]]) -> ScheduleResult | FitError:
        nodes = state.snapshot.nodes
        if not nodes:
            raise SchedulingError(NO_NODES_AVAILABLE)
        pre_result, status = self._framework.run_pre_filter(state, pod)
        if status.code is Code.ERROR:
            raise SchedulingError(status.message())
        if not status.is_success:
            return FitError(len(nodes), {n.name: status for n in nodes},
                            pre_filter_message=status.message())
        if pod.nominated_node_name:
            chosen = self._try_nominated(state, pod, nominated)
            if chosen is not None:
                return ScheduleResult(chosen, 1, 1)
        candidates, absent = _restrict(nodes, state, pre_result)
        return self._filter_and_score(state, pod, nodes, candidates, absent, nominated)

    def _try_nominated(self, state: CycleState, pod: PodInfo,
                       nominated: Mapping[str, Sequence[PodInfo]]) -> str | None:
        node = state.snapshot.get(pod.nominated_node_name)
        if node is None:
            return None
        outcome = self._framework.find_feasible(state, pod, [node], start=0, want=1,
                                                nominated=nominated)
        return node.name if outcome.feasible else None

    def _filter_and_score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo],
                          candidates: Sequence[NodeInfo], absent: Status | None,
                          nominated: Mapping[str, Sequence[PodInfo]]
                          ) -> ScheduleResult | FitError:
        framework = self._framework
        want = num_feasible_nodes_to_find(framework.percentage_of_nodes_to_score, len(nodes))
        start = self._next_start if absent is None else 0
        outcome = framework.find_feasible(state, pod, candidates, start=start, want=want,
                                          nominated=nominated)
        if absent is None and candidates:
            self._next_start = (start + outcome.processed) % len(candidates)
        feasible = outcome.feasible
        if not feasible:
            return FitError(len(nodes), outcome.statuses, absent_status=absent)
        if len(feasible) == 1:
            return ScheduleResult(feasible[0].name, outcome.processed, 1)
        totals, _ = framework.score_parts(state, pod, feasible)
        return ScheduleResult(feasible[self._select(totals)].name, outcome.processed,
                              len(feasible))

    def _select(self, totals: list[int]) -> int:
        """The index of a highest total; among ties, what ``rng.choice(ties)`` would pick
        (``choice`` draws an index below the number of ties), found without a Python loop,
        from whichever end is nearer."""
        best = max(totals)
        ties = totals.count(best)
        if ties == 1:
            return totals.index(best)
        nth = self._rng.choice(range(ties))
        if nth < ties // 2:
            return _nth_index(totals, best, nth)
        return len(totals) - 1 - _nth_index(reversed(totals), best, ties - 1 - nth)


def _nth_index(totals: Iterable[int], value: int, nth: int) -> int:
    """Where ``value`` occurs for the ``nth`` time (from 0) in ``totals``."""
    return next(islice(compress(count(), map(eq, totals, repeat(value))), nth, None))


def _restrict(nodes: Sequence[NodeInfo], state: CycleState, result: PreFilterResult | None
              ) -> tuple[Sequence[NodeInfo], Status | None]:
    """PreFilter narrowed the node set: only those nodes are examined, the rest are absent."""
    if result is None or result.node_names is None:
        return nodes, None
    found = [node for name in sorted(result.node_names)
             if (node := state.snapshot.get(name)) is not None]
    plugins = " ".join(sorted(result.plugins))
    return found, unresolvable(f"node(s) didn't satisfy plugin(s) [{plugins}]")
