"""The scheduler cache: NodeInfos with assigned *and assumed* pods, plus cluster indexes.

Upstream's ``internal/cache``. Contract:

* ``assume_pod`` puts a pod on its chosen node the moment the cycle decides, before the
  binding is written, so the next cycle already sees the node as fuller — a burst can never
  overcommit a node. ``finish_binding`` starts the optional expiry clock; ``forget_pod``
  undoes an assumption when binding fails; ``add_pod`` for a pod the informer now reports as
  bound *confirms* it (replacing the assumed copy, moving it if it landed elsewhere; where
  it landed as assumed and counts alike, only the PodInfo is swapped, so the node's
  aggregates and memos stand).
* ``snapshot()`` returns the :class:`ClusterSnapshot` for one cycle. A scheduling cycle
  runs without awaiting, so nothing can change the cache under it; the snapshot is therefore
  a view, not a copy. Its node list is rebuilt only when the set of nodes changed (a
  generation number), and preemption clones just the NodeInfos it experiments on.
* Namespaces (for ``namespaceSelector``), PodDisruptionBudgets, PersistentVolumeClaims
  (by ``namespace/name``), PersistentVolumes and StorageClasses are kept here too, as the
  plugins' read-only view of the cluster.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from steersman.api.selectors import LabelSelector
from steersman.scheduler.framework.affinity import AffinityTerm
from steersman.scheduler.framework.types import NodeInfo, NodeTraits, PodInfo
from steersman.scheduler.indexes import AntiAffinityGroups, DomainViews, LabelValues


@dataclass(slots=True)
class _PodState:
    pod: PodInfo
    node_name: str
    assumed: bool
    deadline: float | None = None


class SchedulerCache:
    """Nodes, their pods (bound and assumed) and the indexes derived from them."""

    def __init__(self, *, assumed_ttl: float | None = None) -> None:
        self._assumed_ttl = assumed_ttl
        self._nodes: dict[str, NodeInfo] = {}
        self._pods: dict[str, _PodState] = {}
        self._node_generation = 0
        self._views = DomainViews()
        self._anti_groups = AntiAffinityGroups()
        self._label_values = LabelValues()
        self._traits = NodeTraits()
        self._images: dict[str, int] = {}
        self._affinity_pods: dict[str, PodInfo] = {}
        self.namespaces: dict[str, Mapping[str, str]] = {}
        self.budgets: dict[str, Mapping[str, Any]] = {}
        self.claims: dict[str, Mapping[str, Any]] = {}
        self.volumes: dict[str, Mapping[str, Any]] = {}
        self.storage_classes: dict[str, Mapping[str, Any]] = {}
        self._snapshot = ClusterSnapshot(self)

    # Nodes -------------------------------------------------------------------------------

    def add_node(self, node: Mapping[str, Any]) -> NodeInfo:
        name = str((node.get("metadata") or {}).get("name"))
        info = self._nodes.get(name)
        if info is None:
            info = self._nodes[name] = NodeInfo(name)
        was_listed = info.node is not None
        old_labels = info.labels
        self._node_indexes(info, -1)
        info.set_node(node)
        self._node_indexes(info, 1)
        if info.pods and info.labels != old_labels:
            self._views.clear()  # its pods moved between domains; views rebuild lazily
            self._anti_groups.forget_domains()
        if not was_listed:
            self._node_generation += 1
        return info

    update_node = add_node

    def remove_node(self, name: str) -> None:
        info = self._nodes.get(name)
        if info is None or info.node is None:
            return
        self._node_indexes(info, -1)
        if info.pods:
            info.set_node(None)  # pods outlive their node until the informer deletes them
        else:
            del self._nodes[name]
        self._views.clear()
        self._anti_groups.forget_domains()
        self._node_generation += 1

    def _node_indexes(self, info: NodeInfo, delta: int) -> None:
        if info.node is None:
            return
        self._label_values.update(info.labels, delta)
        self._traits.update(info, delta)
        for image in info.images:
            number = self._images.get(image, 0) + delta
            if number > 0:
                self._images[image] = number
            else:
                self._images.pop(image, None)

    # Pods --------------------------------------------------------------------------------

    def add_pod(self, pod: PodInfo) -> None:
        """An assigned pod the informer reports: confirm an assumption or record it."""
        state = self._pods.get(pod.uid)
        if state is not None and state.node_name == pod.node_name and state.pod.counts_as(pod):
            self._replace(pod)
            return
        if state is not None:
            self._remove(pod.uid)
        self._add(pod, pod.node_name, assumed=False)

    def update_pod(self, pod: PodInfo) -> None:
        self.add_pod(pod)

    def remove_pod(self, uid: str) -> None:
        if uid in self._pods:
            self._remove(uid)

    def assume_pod(self, pod: PodInfo, node_name: str) -> None:
        if pod.uid in self._pods:
            raise ValueError(f"pod {pod.key} is already in the scheduler cache")
        self._add(pod, node_name, assumed=True)

    def finish_binding(self, uid: str, *, now: float) -> None:
        state = self._pods.get(uid)
        if state is not None and state.assumed and self._assumed_ttl is not None:
            state.deadline = now + self._assumed_ttl

    def forget_pod(self, uid: str) -> None:
        state = self._pods.get(uid)
        if state is not None and state.assumed:
            self._remove(uid)

    def is_assumed(self, uid: str) -> bool:
        state = self._pods.get(uid)
        return state is not None and state.assumed

    def cleanup_expired(self, *, now: float) -> list[PodInfo]:
        """Drop assumed pods whose binding was never confirmed in time."""
        expired = [s.pod for s in self._pods.values()
                   if s.assumed and s.deadline is not None and s.deadline <= now]
        for pod in expired:
            self._remove(pod.uid)
        return expired

    def _add(self, pod: PodInfo, node_name: str, *, assumed: bool) -> None:
        info = self._nodes.get(node_name)
        if info is None:
            info = self._nodes[node_name] = NodeInfo(node_name)
        info.add_pod(pod)
        self._pods[pod.uid] = _PodState(pod, node_name, assumed)
        self._pod_indexes(pod, info, 1)

    def _replace(self, pod: PodInfo) -> None:
        """Remove and add, less the work: the pod (usually an assumption being confirmed)
        stays on its node and counts alike, so only the PodInfo held changes, everywhere in
        the order remove and add would leave it."""
        del self._pods[pod.uid]
        self._pods[pod.uid] = _PodState(pod, pod.node_name, assumed=False)
        self._nodes[pod.node_name].replace_pod(pod)
        if pod.scores_other_pods:
            del self._affinity_pods[pod.uid]
            self._affinity_pods[pod.uid] = pod

    def _remove(self, uid: str) -> None:
        state = self._pods.pop(uid)
        info = self._nodes[state.node_name]
        info.remove_pod(uid)
        self._pod_indexes(state.pod, info, -1)
        if info.node is None and not info.pods:
            del self._nodes[state.node_name]

    def _pod_indexes(self, pod: PodInfo, info: NodeInfo, delta: int) -> None:
        self._views.update(pod, info.labels, delta)
        if pod.anti_affinity_terms:
            self._anti_groups.update(pod, info, delta)
        if pod.scores_other_pods:
            if delta > 0:
                self._affinity_pods[pod.uid] = pod
            else:
                self._affinity_pods.pop(pod.uid, None)

    # Reads -------------------------------------------------------------------------------

    def node(self, name: str) -> NodeInfo | None:
        info = self._nodes.get(name)
        return info if info is not None and info.node is not None else None

    def pod(self, uid: str) -> PodInfo | None:
        state = self._pods.get(uid)
        return state.pod if state is not None else None

    def snapshot(self) -> ClusterSnapshot:
        self._snapshot.refresh(self._node_generation)
        return self._snapshot

    def _node_list(self) -> list[NodeInfo]:
        return [info for info in self._nodes.values() if info.node is not None]


class ClusterSnapshot:
    """The :class:`~steersman.scheduler.framework.interface.Snapshot` plugins read."""

    def __init__(self, cache: SchedulerCache) -> None:
        self._cache = cache
        self._generation = -1
        self._nodes: list[NodeInfo] = []

    def refresh(self, generation: int) -> None:
        if generation != self._generation:
            self._nodes = self._cache._node_list()
            self._generation = generation

    @property
    def nodes(self) -> Sequence[NodeInfo]:
        return self._nodes

    def get(self, name: str) -> NodeInfo | None:
        return self._cache.node(name)

    def pods_with_affinity(self) -> Iterable[PodInfo]:
        return self._cache._affinity_pods.values()

    def required_anti_affinity_domains(self) -> Iterable[tuple[AffinityTerm, Mapping[str, int]]]:
        return self._cache._anti_groups.domains(self._cache._nodes)

    def domain_counts(self, *, namespaces: frozenset[str] | None, selector: LabelSelector,
                      topology_key: str) -> Mapping[str, int]:
        return self._cache._views.get((namespaces, selector, topology_key), self._nodes)

    def topology_values(self, key: str) -> Mapping[str, int]:
        return self._cache._label_values.get(key)

    def node_traits(self) -> NodeTraits:
        return self._cache._traits

    def namespace_labels(self) -> Mapping[str, Mapping[str, str]]:
        return self._cache.namespaces

    def image_spread(self, image: str) -> int:
        return self._cache._images.get(image, 0)

    def disruption_budgets(self) -> Sequence[Mapping[str, Any]]:
        return list(self._cache.budgets.values())

    def claim(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        return self._cache.claims.get(f"{namespace}/{name}")

    def persistent_volume(self, name: str) -> Mapping[str, Any] | None:
        return self._cache.volumes.get(name)

    def storage_class(self, name: str) -> Mapping[str, Any] | None:
        return self._cache.storage_classes.get(name)
