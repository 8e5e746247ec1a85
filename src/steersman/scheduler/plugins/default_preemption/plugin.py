"""DefaultPreemption (upstream ``plugins/defaultpreemption`` + ``framework/preemption``).

PostFilter: among nodes whose rejection was merely *Unschedulable* (not unresolvable), dry
run victim selection (:mod:`.victims`) from a rotating offset until enough candidates are
found (10% of nodes, at least 100), then pick one by upstream's criteria: fewest PDB
violations, lowest highest-victim priority, lowest priority sum, fewest victims, latest
start of the most important victim. The scheduler loop evicts the victims through its
injected API and records the nominated node on the pod.

Known gap: plugins' PreFilter state is not adjusted for removed victims (upstream's
``AddPod``/``RemovePod`` extensions), so evicting a pod to satisfy inter-pod (anti-)affinity
or topology spread is not considered; resources, ports, taints and affinity to nodes are.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from steersman.scheduler.framework.fit_error import nodes_unavailable
from steersman.scheduler.framework.interface import (
    SUCCESS,
    Code,
    CycleState,
    Handle,
    PostFilterResult,
    Status,
    unresolvable,
    unschedulable,
)
from steersman.scheduler.framework.types import NodeInfo, PodInfo
from steersman.scheduler.plugins.default_preemption.victims import (
    NO_VICTIMS,
    Candidate,
    select_victims,
    start_time,
)

NAME = "DefaultPreemption"
NOT_HELPFUL = "Preemption is not helpful for scheduling"
NOT_ELIGIBLE_NEVER = "not eligible due to preemptionPolicy=Never."
MIN_CANDIDATE_NODES_PERCENTAGE = 10
MIN_CANDIDATE_NODES_ABSOLUTE = 100
_NOT_HELPFUL = unresolvable(NOT_HELPFUL, plugin=NAME)

__all__ = ["NAME", "NOT_ELIGIBLE_NEVER", "NOT_HELPFUL", "NO_VICTIMS", "DefaultPreemption"]


class DefaultPreemption:
    name = NAME

    def __init__(self, handle: Handle, *, rng: random.Random) -> None:
        self._handle = handle
        self._rng = rng

    def post_filter(self, state: CycleState, pod: PodInfo, statuses: Mapping[str, Status]
                    ) -> tuple[PostFilterResult | None, Status]:
        if pod.preemption_policy == "Never":
            return None, unschedulable(f"preemption: {NOT_ELIGIBLE_NEVER}", plugin=NAME)
        nodes = state.snapshot.nodes
        outcomes: dict[str, Status] = {}
        hopeful = []
        for node in nodes:
            status = statuses.get(node.name)
            if status is not None and status.code is Code.UNSCHEDULABLE:
                hopeful.append(node)
            else:
                outcomes[node.name] = _NOT_HELPFUL
        candidates = self._dry_run(state, pod, hopeful, outcomes)
        if not candidates:
            message = nodes_unavailable(len(nodes), outcomes)
            return PostFilterResult(None), unschedulable(f"preemption: {message}", plugin=NAME)
        best = pick_one(candidates)
        return PostFilterResult(best.node_name, best.victims), SUCCESS

    def _dry_run(self, state: CycleState, pod: PodInfo, hopeful: Sequence[NodeInfo],
                 outcomes: dict[str, Status]) -> list[Candidate]:
        if not hopeful:
            return []
        wanted = max(len(hopeful) * MIN_CANDIDATE_NODES_PERCENTAGE // 100,
                     MIN_CANDIDATE_NODES_ABSOLUTE)
        offset = self._rng.randrange(len(hopeful))
        budgets = state.snapshot.disruption_budgets()
        candidates: list[Candidate] = []
        for index in range(len(hopeful)):
            node = hopeful[(offset + index) % len(hopeful)]
            result = select_victims(self._handle.run_filters, state, pod, node, budgets)
            if isinstance(result, Candidate):
                candidates.append(result)
                if len(candidates) >= wanted:
                    break
            else:
                outcomes[node.name] = result
        return candidates


def _rank(candidate: Candidate) -> tuple[int, int, int, int, str]:
    victims = candidate.victims
    highest = victims[0].priority if victims else -(1 << 31)
    # Upstream shifts priorities by MaxInt32+1 so the sum of negative priorities still ranks.
    total = sum(v.priority + (1 << 31) for v in victims)
    earliest = min((start_time(v) for v in victims if v.priority == highest), default="")
    return (candidate.pdb_violations, highest, total, len(victims), _inverted(earliest))


def _inverted(timestamp: str) -> str:
    """Sort key that puts later RFC 3339 timestamps first."""
    return "".join(chr(0x10FFFF - ord(c)) for c in timestamp)


def pick_one(candidates: Sequence[Candidate]) -> Candidate:
    return min(candidates, key=_rank)


def new(args: Mapping[str, Any], handle: Handle) -> DefaultPreemption:
    return DefaultPreemption(handle, rng=random.Random(int(args.get("seed", 0))))
