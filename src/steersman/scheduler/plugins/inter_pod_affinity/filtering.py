"""InterPodAffinity filtering (upstream ``interpodaffinity/filtering.go``).

PreFilter builds three per-domain count tables:

* *existing anti-affinity*: existing pods' required anti-affinity terms that select the
  incoming pod, counted per (topology key, value) of the existing pod's node. Identical terms
  (one Deployment's replicas) come pre-grouped and pre-counted per domain from the cache, so
  this is O(distinct terms x domains), not O(pods).
* *anti-affinity*: per incoming required anti-affinity term, pods it selects per domain.
* *affinity*: per incoming required affinity term, pods it selects per domain.

Filter then checks the node's domain in each table: O(terms + node labels).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial

from steersman.scheduler.framework.affinity import AffinityTerm
from steersman.scheduler.framework.interface import (
    SUCCESS,
    Snapshot,
    Status,
    filter_each,
    unresolvable,
    unschedulable,
)
from steersman.scheduler.framework.types import NodeInfo, PodInfo

ERR_AFFINITY = "node(s) didn't match pod affinity rules"
ERR_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"
ERR_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"
_PLUGIN = "InterPodAffinity"
_AFFINITY = unresolvable(ERR_AFFINITY, plugin=_PLUGIN)
_ANTI_AFFINITY = unschedulable(ERR_ANTI_AFFINITY, plugin=_PLUGIN)
_EXISTING_ANTI_AFFINITY = unschedulable(ERR_EXISTING_ANTI_AFFINITY, plugin=_PLUGIN)

DomainCounts = Mapping[str, int]


@dataclass(slots=True)
class FilterState:
    existing_anti: dict[str, dict[str, int]] = field(default_factory=dict)
    anti: list[tuple[str, DomainCounts]] = field(default_factory=list)
    affinity: list[tuple[str, DomainCounts]] = field(default_factory=list)
    affinity_anywhere: bool = False
    matches_own_affinity: bool = False


def filter_state(snapshot: Snapshot, pod: PodInfo) -> FilterState | None:
    """The PreFilter tables, or ``None`` when nothing constrains this pod (Skip)."""
    state = FilterState(existing_anti=_existing_anti_affinity(snapshot, pod))
    if not (state.existing_anti or pod.affinity_terms or pod.anti_affinity_terms):
        return None
    namespace_labels = snapshot.namespace_labels()
    state.anti = [(t.topology_key, _domain_counts(snapshot, t, namespace_labels))
                  for t in pod.anti_affinity_terms]
    if pod.affinity_terms:
        state.affinity = _affinity_counts(snapshot, pod, namespace_labels)
        state.affinity_anywhere = any(counts for _, counts in state.affinity)
        own = namespace_labels.get(pod.namespace)
        state.matches_own_affinity = all(t.matches(pod.namespace, pod.labels, own)
                                         for t in pod.affinity_terms)
    return state


def _existing_anti_affinity(snapshot: Snapshot, pod: PodInfo) -> dict[str, dict[str, int]]:
    own_labels = snapshot.namespace_labels().get(pod.namespace)
    counts: dict[str, dict[str, int]] = {}
    for term, per_domain in snapshot.required_anti_affinity_domains():
        if not per_domain or not term.matches(pod.namespace, pod.labels, own_labels):
            continue
        by_value = counts.setdefault(term.topology_key, {})
        for value, number in per_domain.items():
            by_value[value] = by_value.get(value, 0) + number
    return counts


def _domain_counts(snapshot: Snapshot, term: AffinityTerm,
                   namespace_labels: Mapping[str, Mapping[str, str]]) -> DomainCounts:
    return snapshot.domain_counts(namespaces=term.namespace_set(namespace_labels),
                                  selector=term.selector, topology_key=term.topology_key)


def _affinity_counts(snapshot: Snapshot, pod: PodInfo,
                     namespace_labels: Mapping[str, Mapping[str, str]]
                     ) -> list[tuple[str, DomainCounts]]:
    terms = pod.affinity_terms
    if len(terms) == 1:
        return [(terms[0].topology_key, _domain_counts(snapshot, terms[0], namespace_labels))]
    # Several terms: an existing pod counts only if it matches all of them (upstream), which
    # no single-term index answers; walk the pods (rare in practice).
    tables: list[dict[str, int]] = [{} for _ in terms]
    for node in snapshot.nodes:
        for existing in node.pods.values():
            labels = namespace_labels.get(existing.namespace)
            if not all(t.matches(existing.namespace, existing.labels, labels) for t in terms):
                continue
            for table, term in zip(tables, terms, strict=True):
                value = node.labels.get(term.topology_key)
                if value is not None:
                    table[value] = table.get(value, 0) + 1
    return [(t.topology_key, table) for t, table in zip(terms, tables, strict=True)]


def check_nodes(state: FilterState, nodes: list[NodeInfo], rejected: dict[str, Status]
                ) -> list[NodeInfo]:
    """:func:`check_node` over many nodes: the passing ones; the others' statuses recorded."""
    return filter_each(nodes, partial(check_node, state), rejected)


def check_node(state: FilterState, node: NodeInfo) -> Status:
    labels = node.labels
    if state.affinity and not _satisfies_affinity(state, labels):
        return _AFFINITY
    for key, counts in state.anti:
        value = labels.get(key)
        if value is not None and counts.get(value, 0) > 0:
            return _ANTI_AFFINITY
    for key, values in state.existing_anti.items():
        value = labels.get(key)
        if value is not None and values.get(value, 0) > 0:
            return _EXISTING_ANTI_AFFINITY
    return SUCCESS


def _satisfies_affinity(state: FilterState, labels: Mapping[str, str]) -> bool:
    pods_exist = True
    for key, counts in state.affinity:
        value = labels.get(key)
        if value is None:
            return False  # every topology key must exist on the node
        if counts.get(value, 0) <= 0:
            pods_exist = False
    # The first pod of a group with affinity to itself may go anywhere with the keys.
    return pods_exist or (not state.affinity_anywhere and state.matches_own_affinity)
