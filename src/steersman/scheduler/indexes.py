"""Incrementally maintained cluster indexes the plugins query through the snapshot.

* :class:`DomainView` — pods matching (namespaces, label selector), counted per value of one
  node label (the *topology domain*). Created on first query, then kept current on every
  pod add/remove, so PodTopologySpread and InterPodAffinity read per-domain counts in
  O(domains) instead of walking every pod every cycle (upstream walks all nodes in parallel
  goroutines; Python has no such parallelism). Views are evicted least-recently-used.
* :class:`AntiAffinityGroups` — existing pods' required anti-affinity terms, identical terms
  grouped, counted per node name and per topology domain, so InterPodAffinity's PreFilter
  reads O(terms x domains) instead of walking every node that holds such a pod.
* :class:`LabelValues` — per node label key, value → how many nodes carry it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping

from steersman.api.selectors import LabelSelector
from steersman.scheduler.framework.affinity import AffinityTerm
from steersman.scheduler.framework.types import NodeInfo, PodInfo

MAX_VIEWS = 256
ViewKey = tuple[frozenset[str] | None, LabelSelector, str]


def _bump(counts: dict[str, int], key: str, delta: int) -> None:
    number = counts.get(key, 0) + delta
    if number > 0:
        counts[key] = number
    else:
        counts.pop(key, None)


class DomainView:
    __slots__ = ("counts", "namespaces", "selector", "topology_key")

    def __init__(self, key: ViewKey) -> None:
        self.namespaces, self.selector, self.topology_key = key
        self.counts: dict[str, int] = {}

    def update(self, pod: PodInfo, labels: Mapping[str, str], delta: int) -> None:
        value = labels.get(self.topology_key)
        if value is None:
            return
        if self.namespaces is not None and pod.namespace not in self.namespaces:
            return
        if self.selector.matches(pod.labels):
            _bump(self.counts, value, delta)


class DomainViews:
    """The LRU set of live :class:`DomainView` objects."""

    def __init__(self) -> None:
        self._views: OrderedDict[ViewKey, DomainView] = OrderedDict()

    def get(self, key: ViewKey, nodes: Iterable[NodeInfo]) -> Mapping[str, int]:
        view = self._views.get(key)
        if view is None:
            view = self._build(key, nodes)
        else:
            self._views.move_to_end(key)
        return view.counts

    def _build(self, key: ViewKey, nodes: Iterable[NodeInfo]) -> DomainView:
        view = DomainView(key)
        for node in nodes:
            for pod in node.pods.values():
                view.update(pod, node.labels, 1)
        self._views[key] = view
        if len(self._views) > MAX_VIEWS:
            self._views.popitem(last=False)
        return view

    def update(self, pod: PodInfo, labels: Mapping[str, str], delta: int) -> None:
        for view in self._views.values():
            view.update(pod, labels, delta)

    def clear(self) -> None:
        self._views.clear()


class AntiAffinityGroups:
    """Per distinct required anti-affinity term of existing pods: pods per node name, and
    pods per value of the term's topology key (the domain table, built on first query)."""

    def __init__(self) -> None:
        self._groups: dict[AffinityTerm, dict[str, int]] = {}
        self._domains: dict[AffinityTerm, dict[str, int]] = {}

    def update(self, pod: PodInfo, node: NodeInfo, delta: int) -> None:
        for term in set(pod.anti_affinity_terms):
            per_node = self._groups.setdefault(term, {})
            _bump(per_node, node.name, delta)
            if not per_node:
                del self._groups[term]
                self._domains.pop(term, None)
                continue
            domains = self._domains.get(term)
            value = node.labels.get(term.topology_key)
            if domains is not None and value is not None:
                _bump(domains, value, delta)

    def domains(self, nodes: Mapping[str, NodeInfo]
                ) -> Iterable[tuple[AffinityTerm, Mapping[str, int]]]:
        """Each term with its pods per domain; ``nodes`` by name (an unlisted node has no
        labels, so its pods count nowhere)."""
        for term, per_node in self._groups.items():
            domains = self._domains.get(term)
            if domains is None:
                domains = self._domains[term] = _per_domain(term, per_node, nodes)
            yield term, domains

    def forget_domains(self) -> None:
        """A node's labels changed or it left: pods moved between domains; rebuild lazily."""
        self._domains.clear()


def _per_domain(term: AffinityTerm, per_node: Mapping[str, int],
                nodes: Mapping[str, NodeInfo]) -> dict[str, int]:
    domains: dict[str, int] = {}
    for name, number in per_node.items():
        node = nodes.get(name)
        value = node.labels.get(term.topology_key) if node is not None else None
        if value is not None:
            _bump(domains, value, number)
    return domains


class LabelValues:
    def __init__(self) -> None:
        self._values: dict[str, dict[str, int]] = {}

    def update(self, labels: Mapping[str, str], delta: int) -> None:
        for key, value in labels.items():
            _bump(self._values.setdefault(key, {}), value, delta)

    def get(self, key: str) -> Mapping[str, int]:
        return self._values.get(key, {})
