"""InterPodAffinity scoring (upstream ``interpodaffinity/scoring.go``).

Per (topology key, value) a running score: the incoming pod's preferred affinity terms add
``weight x matching pods in the domain`` (anti-affinity subtracts), taken from the cache's
per-domain counts; then every existing pod whose own terms mention the incoming pod adds its
weight to its node's domain — required affinity with ``hardPodAffinityWeight``, preferred
affinity ``+weight``, preferred anti-affinity ``-weight``. A node's score is the sum over
its labels; normalisation maps [min, max] onto 0..100.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from steersman.scheduler.framework.affinity import AffinityTerm
from steersman.scheduler.framework.interface import Snapshot
from steersman.scheduler.framework.types import NodeInfo, PodInfo

TopologyScores = dict[str, dict[str, int]]


def topology_scores(snapshot: Snapshot, pod: PodInfo, hard_weight: int) -> TopologyScores | None:
    """The per-domain scores, or ``None`` when nothing could differ between nodes."""
    scores: TopologyScores = {}
    namespace_labels = snapshot.namespace_labels()
    for sign, terms in ((1, pod.preferred_affinity_terms),
                        (-1, pod.preferred_anti_affinity_terms)):
        for term in terms:
            counts = snapshot.domain_counts(namespaces=term.namespace_set(namespace_labels),
                                            selector=term.selector,
                                            topology_key=term.topology_key)
            for value, number in counts.items():
                _add(scores, term.topology_key, value, sign * term.weight * number)
    own = namespace_labels.get(pod.namespace)
    for existing in snapshot.pods_with_affinity():
        node = snapshot.get(existing.node_name)
        if node is not None:
            _existing_pod_terms(scores, pod, own, existing, node, hard_weight)
    return scores if any(v for values in scores.values() for v in values.values()) else None


def _existing_pod_terms(scores: TopologyScores, pod: PodInfo, own: Mapping[str, str] | None,
                        existing: PodInfo, node: NodeInfo, hard_weight: int) -> None:
    weighted: Iterable[tuple[int, AffinityTerm]] = (
        *((hard_weight, t) for t in existing.affinity_terms),
        *((t.weight, t) for t in existing.preferred_affinity_terms),
        *((-t.weight, t) for t in existing.preferred_anti_affinity_terms),
    )
    for weight, term in weighted:
        if weight and term.matches(pod.namespace, pod.labels, own):
            value = node.labels.get(term.topology_key)
            if value is not None:
                _add(scores, term.topology_key, value, weight)


def _add(scores: TopologyScores, key: str, value: str, amount: int) -> None:
    by_value = scores.setdefault(key, {})
    by_value[value] = by_value.get(value, 0) + amount


def node_scores(scores: TopologyScores, nodes: Sequence[NodeInfo]) -> list[int]:
    items = list(scores.items())
    result = []
    for node in nodes:
        labels = node.labels
        total = 0
        for key, by_value in items:
            value = labels.get(key)
            if value is not None:
                total += by_value.get(value, 0)
        result.append(total)
    return result
