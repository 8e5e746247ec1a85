"""Parsed topology spread constraints and the per-domain pod counts both phases need.

Counting follows upstream's node inclusion rules: only nodes carrying every constraint's
topology key count; ``nodeAffinityPolicy: Honor`` (default) skips nodes that do not match
the pod's nodeSelector/required node affinity; ``nodeTaintsPolicy: Ignore`` (default)
counts tainted nodes too. Pods are matched in the incoming pod's namespace; terminating pods
are not skipped (a documented simplification).

When nothing narrows the node set, counts come straight from the cache's per-domain index
(O(domains)); otherwise the nodes are walked (O(nodes + their pods)).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat

from steersman.api.selectors import (
    LabelSelector,
    Operator,
    SelectorError,
    new_requirement,
    selector_from_label_selector_spec,
)
from steersman.scheduler.framework.interface import Snapshot
from steersman.scheduler.framework.taints import DO_NOT_SCHEDULE_EFFECTS, find_untolerated
from steersman.scheduler.framework.types import NodeInfo, PodInfo

DO_NOT_SCHEDULE = "DoNotSchedule"
SCHEDULE_ANYWAY = "ScheduleAnyway"
_MEMO = "PodTopologySpread"
MAX_PARSED = 256
_PARSED: dict[tuple[str, str], tuple[SpreadConstraint, ...]] = {}


@dataclass(frozen=True, slots=True)
class SpreadConstraint:
    max_skew: int
    topology_key: str
    when_unsatisfiable: str
    selector: LabelSelector
    min_domains: int = 1
    honor_node_affinity: bool = True
    honor_taints: bool = False


@dataclass(frozen=True, slots=True)
class DomainCounts:
    """Matching pods per domain value, and every eligible domain (value → node count)."""

    counts: Mapping[str, int]
    domains: Mapping[str, int]

    def min_match(self, min_domains: int) -> int:
        if len(self.domains) < min_domains:
            return 0
        # counts are positive: an eligible domain holding no matching pod makes it 0
        return min(map(self.counts.get, self.domains, repeat(0)))


def constraints(pod: PodInfo) -> tuple[SpreadConstraint, ...]:
    """The pod's constraints, parsed once and memoised on the PodInfo."""
    cached = pod.memo.get(_MEMO)
    if cached is None:
        raw = (pod.pod.get("spec") or {}).get("topologySpreadConstraints") or ()
        cached = pod.memo[_MEMO] = _parsed(raw, pod.labels)
    return cached


def _parsed(raw: Sequence[Mapping[str, object]], labels: Mapping[str, str]
            ) -> tuple[SpreadConstraint, ...]:
    """Parsed constraints, shared by the pods that declare the same (a workload's replicas):
    keyed by their text (JSON values, so their repr is faithful), and by the pod's labels
    too when ``matchLabelKeys`` may read them."""
    text = repr(raw)
    key = (text, repr(labels) if "matchLabelKeys" in text else "")
    found = _PARSED.get(key)
    if found is None:
        found = tuple(_parse(c, labels) for c in raw)
        if len(_PARSED) >= MAX_PARSED:
            _PARSED.clear()
        _PARSED[key] = found
    return found


def _parse(raw: Mapping[str, object], labels: Mapping[str, str]) -> SpreadConstraint:
    selector = selector_from_label_selector_spec(raw.get("labelSelector"))  # type: ignore[arg-type]
    keys = [k for k in raw.get("matchLabelKeys") or () if k in labels]  # type: ignore[attr-defined]
    if keys and not selector.selects_nothing:
        extra = [new_requirement(k, Operator.IN, [labels[k]]) for k in keys]
        selector = LabelSelector(tuple(sorted((*selector.requirements, *extra),
                                              key=lambda r: r.key)))
    try:
        max_skew = int(raw.get("maxSkew") or 1)  # type: ignore[call-overload]
        min_domains = int(raw.get("minDomains") or 1)  # type: ignore[call-overload]
    except (TypeError, ValueError) as exc:
        raise SelectorError(f"invalid topology spread constraint: {exc}") from exc
    return SpreadConstraint(max_skew, str(raw.get("topologyKey") or ""),
                            str(raw.get("whenUnsatisfiable") or DO_NOT_SCHEDULE), selector,
                            min_domains, raw.get("nodeAffinityPolicy", "Honor") != "Ignore",
                            raw.get("nodeTaintsPolicy", "Ignore") == "Honor")


def count_domains(snapshot: Snapshot, pod: PodInfo,
                  chosen: Sequence[SpreadConstraint]) -> list[DomainCounts]:
    """Per constraint, matching pods per domain over the eligible nodes."""
    if _index_is_exact(snapshot, pod, chosen):
        namespaces = frozenset({pod.namespace})
        return [DomainCounts(snapshot.domain_counts(namespaces=namespaces, selector=c.selector,
                                                    topology_key=c.topology_key),
                             snapshot.topology_values(c.topology_key)) for c in chosen]
    return _walk_nodes(snapshot.nodes, pod, chosen)


def _index_is_exact(snapshot: Snapshot, pod: PodInfo, chosen: Sequence[SpreadConstraint]
                    ) -> bool:
    if any(c.honor_taints for c in chosen):
        return False
    if pod.required_node_affinity is not None and any(c.honor_node_affinity for c in chosen):
        return False
    if len({c.topology_key for c in chosen}) == 1:
        return True
    total = len(snapshot.nodes)
    return all(sum(snapshot.topology_values(c.topology_key).values()) == total for c in chosen)


def eligible(node: NodeInfo, pod: PodInfo, chosen: Sequence[SpreadConstraint]) -> bool:
    """Upstream's node inclusion: all keys present, affinity/taint policies honoured."""
    if any(c.topology_key not in node.labels for c in chosen):
        return False
    required = pod.required_node_affinity
    if (required is not None and any(c.honor_node_affinity for c in chosen)
            and not required.matches(node.labels, node.name)):
        return False
    return not (any(c.honor_taints for c in chosen) and find_untolerated(
        node.taints, pod.tolerations, DO_NOT_SCHEDULE_EFFECTS) is not None)


def _walk_nodes(nodes: Sequence[NodeInfo], pod: PodInfo, chosen: Sequence[SpreadConstraint]
                ) -> list[DomainCounts]:
    counts: list[dict[str, int]] = [{} for _ in chosen]
    domains: list[dict[str, int]] = [{} for _ in chosen]
    for node in nodes:
        if not eligible(node, pod, chosen):
            continue
        for index, constraint in enumerate(chosen):
            value = node.labels[constraint.topology_key]
            domains[index][value] = domains[index].get(value, 0) + 1
            number = sum(1 for p in node.pods.values() if p.namespace == pod.namespace
                         and constraint.selector.matches(p.labels))
            if number:
                counts[index][value] = counts[index].get(value, 0) + number
    return [DomainCounts(c, d) for c, d in zip(counts, domains, strict=True)]
