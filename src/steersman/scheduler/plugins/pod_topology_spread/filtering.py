"""PodTopologySpread filtering (upstream ``podtopologyspread/filtering.go``).

For each DoNotSchedule constraint: placing the pod in the node's domain must keep
``matching pods there + (1 if the pod matches its own selector) - global minimum`` within
``maxSkew``. The global minimum is over eligible domains, and is 0 while fewer than
``minDomains`` domains exist. A node lacking the topology key is rejected unresolvably.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from steersman.scheduler.framework.interface import (
    SUCCESS,
    Snapshot,
    Status,
    filter_each,
    unresolvable,
    unschedulable,
)
from steersman.scheduler.framework.types import NodeInfo, PodInfo
from steersman.scheduler.plugins.pod_topology_spread.constraints import (
    DO_NOT_SCHEDULE,
    DomainCounts,
    SpreadConstraint,
    constraints,
    count_domains,
)

ERR_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints"
ERR_NODE_LABEL_NOT_MATCH = ERR_CONSTRAINTS_NOT_MATCH + " (missing required label)"
_PLUGIN = "PodTopologySpread"
_SKEWED = unschedulable(ERR_CONSTRAINTS_NOT_MATCH, plugin=_PLUGIN)
_MISSING_LABEL = unresolvable(ERR_NODE_LABEL_NOT_MATCH, plugin=_PLUGIN)


@dataclass(frozen=True, slots=True)
class ConstraintState:
    constraint: SpreadConstraint
    counts: DomainCounts
    min_match: int
    self_match: int
    labelled_everywhere: bool = False  # every node of the snapshot has the topology key


def filter_state(snapshot: Snapshot, pod: PodInfo) -> list[ConstraintState] | None:
    """Per DoNotSchedule constraint, its counts and minimum; ``None`` = Skip."""
    chosen = [c for c in constraints(pod) if c.when_unsatisfiable == DO_NOT_SCHEDULE]
    if not chosen:
        return None
    listed = len(snapshot.nodes)
    return [ConstraintState(c, counts, counts.min_match(c.min_domains),
                            1 if c.selector.matches(pod.labels) else 0,
                            sum(snapshot.topology_values(c.topology_key).values()) == listed)
            for c, counts in zip(chosen, count_domains(snapshot, pod, chosen), strict=True)]


def check_nodes(states: list[ConstraintState], nodes: list[NodeInfo],
                rejected: dict[str, Status]) -> list[NodeInfo]:
    """:func:`check_node` over many of the snapshot's nodes; one constraint (the common case)
    is inlined, and passes every node at once while no domain is full and every node has
    the topology key."""
    only = states[0] if len(states) == 1 else None
    if only is None or only.self_match - only.min_match > only.constraint.max_skew:
        # several constraints, or maxSkew below 1
        return filter_each(nodes, partial(check_node, states), rejected)
    key, limit = only.constraint.topology_key, only.constraint.max_skew
    # skew = count + self_match - min_match > max_skew: the domains a node must not be in
    full: set[str | None] = {value for value, count in only.counts.counts.items()
                             if count + only.self_match - only.min_match > limit}
    if not full and only.labelled_everywhere:
        return nodes
    full.add(None)  # lacking the key rejects too
    passed: list[NodeInfo] = []
    keep = passed.append
    for node in nodes:
        value = node.labels.get(key)
        if value in full:
            rejected[node.name] = _MISSING_LABEL if value is None else _SKEWED
        else:
            keep(node)
    return passed


def check_node(states: list[ConstraintState], node: NodeInfo) -> Status:
    labels = node.labels
    for state in states:
        value = labels.get(state.constraint.topology_key)
        if value is None:
            return _MISSING_LABEL
        skew = state.counts.counts.get(value, 0) + state.self_match - state.min_match
        if skew > state.constraint.max_skew:
            return _SKEWED
    return SUCCESS
