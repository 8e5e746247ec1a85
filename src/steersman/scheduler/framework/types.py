"""The scheduler's parsed view of pods and nodes, computed once and updated incrementally.

:class:`PodInfo` parses a Pod dict once (requests, ports, tolerations, node and pod affinity,
images), so no plugin re-reads the raw spec on the hot path; ``memo`` holds per-plugin parsed
extras (e.g. spread constraints) that only one plugin needs. :class:`NodeInfo` keeps a
node's aggregates — requested resources, pod count, used host ports, image sizes, label
dict, taints — adjusted by :meth:`NodeInfo.add_pod` / :meth:`NodeInfo.remove_pod` rather than
recomputed, which is what keeps Filter O(1) per node; :class:`NodeTraits` counts, cluster-wide,
the nodes whose taints or cordon a plugin must look at. Both are plain mutable objects owned by
the scheduler cache; plugins treat them as read-only, except for memoising scores and fit
verdicts of a node as it is now (:meth:`NodeInfo.remember_score`, ``NodeInfo.fits``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steersman.api.selectors import SelectorError
from steersman.scheduler.framework.affinity import (
    AffinityTerm,
    PreferredNodeTerm,
    RequiredNodeAffinity,
    pod_affinity_terms,
    preferred_node_terms,
)
from steersman.scheduler.framework.resources import (
    CPU,
    MEMORY,
    PODS,
    amount,
    pod_resources,
    resource_list,
)
from steersman.scheduler.framework.taints import (
    DO_NOT_SCHEDULE_EFFECTS,
    PREFER_NO_SCHEDULE,
    Taint,
    Toleration,
)

DEFAULT_BIND_ALL = "0.0.0.0"
MAX_MEMOISED_SCORES = 16
HostPort = tuple[str, str, int]  # (host IP, protocol, port)


def normalized_image_name(name: str) -> str:
    """``nginx`` → ``nginx:latest``; digests and explicit tags are kept."""
    if "@" in name or ":" in name.rsplit("/", 1)[-1]:
        return name
    return name + ":latest"


def _host_ports(spec: Mapping[str, Any]) -> tuple[HostPort, ...]:
    ports = []
    containers = [*(spec.get("containers") or ()), *(spec.get("initContainers") or ())]
    for container in containers:
        for port in container.get("ports") or ():
            host_port = int(port.get("hostPort") or 0)
            if host_port > 0:
                ports.append((str(port.get("hostIP") or DEFAULT_BIND_ALL),
                              str(port.get("protocol") or "TCP"), host_port))
    return tuple(ports)


class PodInfo:
    """A pod plus everything the plugins need from it, parsed once."""

    __slots__ = (
        "affinity_terms", "anti_affinity_terms", "created", "deleting", "host_ports", "images",
        "key", "labels", "memo", "name", "namespace", "node_name", "nominated_node_name",
        "nonzero_cpu", "nonzero_memory", "parse_error", "pod", "preemption_policy",
        "preferred_affinity_terms", "preferred_anti_affinity_terms", "preferred_node_terms",
        "priority", "request_cpu", "request_items", "request_memory", "requests",
        "requests_beyond_cpu_memory", "required_node_affinity", "scheduler_name",
        "tolerations", "uid",
    )

    def __init__(self, pod: Mapping[str, Any]) -> None:
        self.pod = pod
        meta = pod.get("metadata") or {}
        spec = pod.get("spec") or {}
        self.name = str(meta.get("name") or "")
        self.namespace = str(meta.get("namespace") or "default")
        self.uid = str(meta.get("uid") or f"{self.namespace}/{self.name}")
        self.key = f"{self.namespace}/{self.name}"
        self.labels: Mapping[str, str] = meta.get("labels") or {}
        self.created = str(meta.get("creationTimestamp") or "")
        self.deleting = meta.get("deletionTimestamp") is not None
        self.node_name = str(spec.get("nodeName") or "")
        self.nominated_node_name = str((pod.get("status") or {}).get("nominatedNodeName") or "")
        self.scheduler_name = str(spec.get("schedulerName") or "default-scheduler")
        self.priority = int(spec.get("priority") or 0)
        self.preemption_policy = str(spec.get("preemptionPolicy") or "PreemptLowerPriority")
        self.requests, self.nonzero_cpu, self.nonzero_memory = pod_resources(spec)
        self.request_items = tuple(self.requests.items())
        self.request_cpu = self.requests.get(CPU, 0)
        self.request_memory = self.requests.get(MEMORY, 0)
        self.requests_beyond_cpu_memory = tuple(
            item for item in self.request_items if item[0] not in (CPU, MEMORY))
        self.host_ports = _host_ports(spec)
        self.tolerations = tuple(Toleration.parse(t) for t in spec.get("tolerations") or ())
        self.images = tuple(normalized_image_name(str(c.get("image"))) for c in
                            [*(spec.get("initContainers") or ()), *(spec.get("containers") or ())]
                            if c.get("image"))
        self.memo: dict[str, Any] = {}
        self.parse_error = ""
        self._parse_affinity(spec)

    def _parse_affinity(self, spec: Mapping[str, Any]) -> None:
        empty: tuple[AffinityTerm, ...] = ()
        self.affinity_terms = self.preferred_affinity_terms = empty
        self.anti_affinity_terms = self.preferred_anti_affinity_terms = empty
        self.required_node_affinity: RequiredNodeAffinity | None = None
        self.preferred_node_terms: tuple[PreferredNodeTerm, ...] = ()
        try:
            self.required_node_affinity = RequiredNodeAffinity.parse(spec)
            self.preferred_node_terms = preferred_node_terms(spec)
            if spec.get("affinity"):
                ns, labels = self.namespace, self.labels
                self.affinity_terms, self.preferred_affinity_terms = pod_affinity_terms(
                    spec, "podAffinity", namespace=ns, labels=labels)
                self.anti_affinity_terms, self.preferred_anti_affinity_terms = (
                    pod_affinity_terms(spec, "podAntiAffinity", namespace=ns, labels=labels))
        except (SelectorError, TypeError, ValueError, AttributeError) as exc:
            self.parse_error = f"invalid affinity in pod spec: {exc}"

    @property
    def has_pod_affinity(self) -> bool:
        return bool(self.affinity_terms or self.preferred_affinity_terms
                    or self.anti_affinity_terms or self.preferred_anti_affinity_terms)

    def counts_as(self, other: PodInfo) -> bool:
        """Whether node aggregates and cluster indexes count ``other`` exactly as this pod:
        the same requests, host ports, namespace, labels and affinity terms."""
        return (self.request_items == other.request_items
                and self.nonzero_cpu == other.nonzero_cpu
                and self.nonzero_memory == other.nonzero_memory
                and self.host_ports == other.host_ports and self.namespace == other.namespace
                and self.labels == other.labels
                and self.affinity_terms == other.affinity_terms
                and self.anti_affinity_terms == other.anti_affinity_terms
                and self.preferred_affinity_terms == other.preferred_affinity_terms
                and self.preferred_anti_affinity_terms == other.preferred_anti_affinity_terms)

    @property
    def scores_other_pods(self) -> bool:
        """Carries terms that score incoming pods (all but required anti-affinity)."""
        return bool(self.affinity_terms or self.preferred_affinity_terms
                    or self.preferred_anti_affinity_terms)

    def __repr__(self) -> str:
        return f"PodInfo({self.key})"


class NodeInfo:
    """A node and the running aggregates of the pods assigned (or assumed) on it.

    ``free`` is allocatable minus requested per resource (negative when overcommitted by
    pods bound elsewhere), so the fit check is one lookup per requested resource;
    ``free_cpu`` and ``free_memory`` repeat its two common entries as plain attributes, and
    ``free_pods`` is ``allowed_pods`` minus the pods on it.

    ``score_memo`` is the one thing plugins write: scores of this node *as it is now*, keyed
    by a plugin and every pod figure that plugin's score reads (see :meth:`remember_score`).
    Any change to the node or its pods replaces it with an empty dict, so an entry is never
    stale. A Deployment's replicas ask alike, and a node is scored again and again between
    changes (the rotating start index), so most per-node scores become one dict lookup.

    Two more memos of the node as it is now sit in slots, read first on the hot path: a slot
    costs no memory access beyond the node itself, whereas a dict, its keys and each resource
    figure are objects of their own, cold in a 5,000-node cluster. ``fits`` is the (interned)
    key of the last requests found to fit here (Fit's filter); ``local_total``, under
    ``local_total_key``, the latest weighted sum of node-local scores (the runtime's, see
    ``NodeLocalScorer``). Both are forgotten with ``score_memo``.
    """

    __slots__ = (
        "alloc_cpu", "alloc_memory", "allocatable", "allowed_pods", "fits", "free", "free_cpu",
        "free_memory", "free_pods", "generation", "hard_taints", "images", "labels",
        "local_total", "local_total_key", "name", "node", "nonzero_cpu", "nonzero_memory",
        "pods", "pods_with_affinity", "pods_with_required_anti_affinity",
        "prefer_no_schedule_taints", "requested", "requested_cpu", "requested_memory",
        "score_memo", "taints", "unschedulable", "used_ports",
    )

    def __init__(self, name: str, node: Mapping[str, Any] | None = None) -> None:
        self.name = name
        self.pods: dict[str, PodInfo] = {}
        self.requested: dict[str, int] = {}
        self.requested_cpu = self.requested_memory = 0
        self.nonzero_cpu = 0
        self.nonzero_memory = 0
        self.used_ports: dict[tuple[str, int], dict[str, int]] = {}
        self.pods_with_affinity = 0
        self.pods_with_required_anti_affinity = 0
        self.generation = 0
        self.set_node(node)

    def set_node(self, node: Mapping[str, Any] | None) -> None:
        self.node = node
        meta = (node or {}).get("metadata") or {}
        spec = (node or {}).get("spec") or {}
        status = (node or {}).get("status") or {}
        self.labels: Mapping[str, str] = meta.get("labels") or {}
        self.unschedulable = bool(spec.get("unschedulable"))
        self.taints = tuple(Taint.parse(t) for t in spec.get("taints") or ())
        self.hard_taints = tuple(t for t in self.taints if t.effect in DO_NOT_SCHEDULE_EFFECTS)
        self.prefer_no_schedule_taints = tuple(
            t for t in self.taints if t.effect == PREFER_NO_SCHEDULE)
        allocatable = status.get("allocatable") or status.get("capacity") or {}
        self.allocatable = resource_list(allocatable)
        self.allowed_pods = self.allocatable.pop(PODS, 0)
        self.free_pods = self.allowed_pods - len(self.pods)
        self.alloc_cpu = self.allocatable.get(CPU, 0)
        self.alloc_memory = self.allocatable.get(MEMORY, 0)
        self.free = {name: quantity - self.requested.get(name, 0)
                     for name, quantity in self.allocatable.items()}
        for name, quantity in self.requested.items():
            self.free.setdefault(name, -quantity)
        self.free_cpu = self.free.get(CPU, 0)
        self.free_memory = self.free.get(MEMORY, 0)
        self.images = _node_images(status)
        self.score_memo: dict[str, int] = {}
        self.fits: str | None = None
        self.local_total_key: str | None = None
        self.local_total = 0

    @property
    def pod_count(self) -> int:
        return len(self.pods)

    def add_pod(self, pod: PodInfo) -> None:
        self.pods[pod.uid] = pod
        self._account(pod, 1)

    def replace_pod(self, pod: PodInfo) -> None:
        """A newer PodInfo of a pod on this node that it :meth:`PodInfo.counts_as`: the
        aggregates, and so the memos, stand. The pod moves last, as by remove and add."""
        del self.pods[pod.uid]
        self.pods[pod.uid] = pod

    def remove_pod(self, uid: str) -> PodInfo | None:
        pod = self.pods.pop(uid, None)
        if pod is not None:
            self._account(pod, -1)
        return pod

    def _account(self, pod: PodInfo, sign: int) -> None:
        requested, free = self.requested, self.free
        for name, quantity in pod.request_items:
            requested[name] = requested.get(name, 0) + sign * quantity
            free[name] = free.get(name, 0) - sign * quantity
        self.requested_cpu = requested.get(CPU, 0)
        self.requested_memory = requested.get(MEMORY, 0)
        self.free_cpu = free.get(CPU, 0)
        self.free_memory = free.get(MEMORY, 0)
        self.free_pods = self.allowed_pods - len(self.pods)
        self.nonzero_cpu += sign * pod.nonzero_cpu
        self.nonzero_memory += sign * pod.nonzero_memory
        for ip, protocol, port in pod.host_ports:
            self._account_port(ip, (protocol, port), sign)
        if pod.has_pod_affinity:
            self.pods_with_affinity += sign
        if pod.anti_affinity_terms:
            self.pods_with_required_anti_affinity += sign
        self.generation += 1
        self.score_memo = {}
        self.fits = self.local_total_key = None

    def remember_score(self, key: str, score: int) -> int:
        """Memoise ``score`` under ``key`` until the node changes; returns ``score``.

        A node scored for many different pod shapes between two changes keeps only the
        latest :data:`MAX_MEMOISED_SCORES`.
        """
        memo = self.score_memo
        if len(memo) >= MAX_MEMOISED_SCORES:
            memo.clear()
        memo[key] = score
        return score

    def remember_local_total(self, key: str, total: int) -> int:
        """Memoise the node-local scores' ``total`` under ``key`` (in ``score_memo`` too,
        for when pods of several shapes alternate); returns ``total``."""
        self.local_total_key, self.local_total = key, total
        return self.remember_score(key, total)

    def _account_port(self, ip: str, port: tuple[str, int], sign: int) -> None:
        by_ip = self.used_ports.setdefault(port, {})
        by_ip[ip] = by_ip.get(ip, 0) + sign
        if by_ip[ip] <= 0:
            del by_ip[ip]
            if not by_ip:
                del self.used_ports[port]

    def clone(self) -> NodeInfo:
        """An independent copy (same node dict and PodInfos) for preemption dry runs."""
        copy = NodeInfo.__new__(NodeInfo)
        for slot in NodeInfo.__slots__:
            setattr(copy, slot, getattr(self, slot))
        copy.pods = dict(self.pods)
        copy.requested = dict(self.requested)
        copy.free = dict(self.free)
        copy.used_ports = {port: dict(ips) for port, ips in self.used_ports.items()}
        copy.score_memo = {}
        copy.fits = copy.local_total_key = None
        return copy

    def __repr__(self) -> str:
        return f"NodeInfo({self.name}, pods={len(self.pods)})"


class NodeTraits:
    """How many listed nodes are cordoned, or carry hard (NoSchedule/NoExecute) or
    PreferNoSchedule taints; kept by the cache as nodes come, change and go.

    Lets TaintToleration and NodeUnschedulable skip a cycle in which no node could make
    them reject or score differently — the common case, and their per-node cost otherwise.
    """

    __slots__ = ("cordoned", "hard_tainted", "soft_tainted")

    def __init__(self) -> None:
        self.cordoned = self.hard_tainted = self.soft_tainted = 0

    def update(self, node: NodeInfo, delta: int) -> None:
        if node.unschedulable:
            self.cordoned += delta
        if node.hard_taints:
            self.hard_tainted += delta
        if node.prefer_no_schedule_taints:
            self.soft_tainted += delta


def _node_images(status: Mapping[str, Any]) -> dict[str, int]:
    images: dict[str, int] = {}
    for image in status.get("images") or ():
        size = int(image.get("sizeBytes") or 0)
        for name in image.get("names") or ():
            images[normalized_image_name(str(name))] = size
    return images


__all__ = ["CPU", "MEMORY", "HostPort", "NodeInfo", "NodeTraits", "PodInfo", "amount",
           "normalized_image_name"]
