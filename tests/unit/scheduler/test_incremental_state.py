"""Incremental bookkeeping equals recomputation: NodeInfo sums, NodeTraits, anti-affinity
domain counts, score memos.

Random sequences of node add/update/remove and pod assume/forget/add/remove are applied to
a :class:`SchedulerCache`; after every step each node's running aggregates must equal a
NodeInfo rebuilt from scratch from its pods, the cluster's :class:`NodeTraits` must equal a
recount of the listed nodes, and a memoised score must equal the score computed afresh.
"""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from steersman.api.selectors import parse_label_selector
from steersman.scheduler.cache import SchedulerCache
from steersman.scheduler.framework.affinity import AffinityTerm
from steersman.scheduler.framework.interface import CycleState, Status
from steersman.scheduler.framework.runtime import Framework
from steersman.scheduler.framework.types import MAX_MEMOISED_SCORES, NodeInfo, PodInfo
from steersman.scheduler.plugins.node_resources import BALANCED_ALLOCATION, BalancedAllocation, Fit
from steersman.scheduler.plugins.node_resources.balanced_allocation import balance
from steersman.scheduler.plugins.node_resources.fit import fits, least_allocated
from steersman.scheduler.plugins.queue_sort.priority_sort import PrioritySort
from tests.unit.scheduler.fixtures import make_node, make_pod

NODES = [f"n{index}" for index in range(4)]
ZONE, HOST = "topology.kubernetes.io/zone", "kubernetes.io/hostname"
PREFER = "preferred pod affinity"
DB = parse_label_selector("app=db")
HARD = {"key": "dedicated", "value": "infra", "effect": "NoSchedule"}
SOFT = {"key": "spot", "effect": "PreferNoSchedule"}

node_specs = st.fixed_dictionaries({
    "name": st.sampled_from(NODES), "cpu": st.sampled_from(["1", "2", "4"]),
    "memory": st.sampled_from(["1Gi", "4Gi"]), "hard": st.booleans(), "soft": st.booleans(),
    "cordoned": st.booleans(), "gpu": st.sampled_from([None, "1", "2"]),
    "zone": st.sampled_from([None, "a", "b"])})
pod_specs = st.fixed_dictionaries({
    "cpu": st.sampled_from([None, "0", "100m", "700m"]),
    "memory": st.sampled_from([None, "64Mi", "900Mi"]),
    "gpu": st.sampled_from([None, "1"]), "port": st.sampled_from([0, 8080]),
    "anti": st.sampled_from([None, ZONE, HOST, PREFER]), "node": st.sampled_from(NODES)})
steps = st.lists(st.tuples(
    st.sampled_from(["node", "drop_node", "assume", "forget", "add", "confirm", "remove",
                     "score"]),
    node_specs, pod_specs, st.integers(0, 50)), max_size=40)


def _node(spec: dict[str, Any]) -> dict[str, Any]:
    taints = [t for t, on in ((HARD, spec["hard"]), (SOFT, spec["soft"])) if on]
    return make_node(spec["name"], cpu=spec["cpu"], memory=spec["memory"], taints=taints,
                     unschedulable=spec["cordoned"],
                     labels={ZONE: spec["zone"]} if spec["zone"] else None,
                     extra={"nvidia.com/gpu": spec["gpu"]} if spec["gpu"] else None)


def _pod(name: str, spec: dict[str, Any], node_name: str = "") -> PodInfo:
    extra: dict[str, Any] = {}
    if spec["port"]:
        extra["ports"] = [{"containerPort": 80, "hostPort": spec["port"]}]
    if spec["anti"] == PREFER:  # a term that scores other pods
        extra["affinity"] = {"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 5, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "db"}},
                                              "topologyKey": ZONE}}]}}
    elif spec["anti"]:
        extra["affinity"] = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": spec["anti"]}]}}
    gpu = {"nvidia.com/gpu": spec["gpu"]} if spec["gpu"] else None
    return PodInfo(make_pod(name, cpu=spec["cpu"], memory=spec["memory"], labels={"app": "db"},
                            extra_requests=gpu, node_name=node_name, **extra))


def _aggregates(info: NodeInfo) -> tuple[Any, ...]:
    return ({k: v for k, v in info.requested.items() if v},
            {k: v for k, v in info.free.items() if v or k in info.allocatable},
            info.free_cpu, info.free_memory, info.free_pods, info.requested_cpu,
            info.requested_memory, info.nonzero_cpu, info.nonzero_memory, info.used_ports,
            info.pods_with_affinity, info.pods_with_required_anti_affinity, set(info.pods))


def _from_scratch(info: NodeInfo) -> NodeInfo:
    fresh = NodeInfo(info.name, info.node)
    for pod in info.pods.values():
        fresh.add_pod(pod)
    return fresh


def _check(cache: SchedulerCache) -> None:
    snapshot = cache.snapshot()
    listed = list(snapshot.nodes)
    traits = snapshot.node_traits()
    assert traits.cordoned == sum(1 for n in listed if n.unschedulable)
    assert traits.hard_tainted == sum(1 for n in listed if n.hard_taints)
    assert traits.soft_tainted == sum(1 for n in listed if n.prefer_no_schedule_taints)
    for info in cache._nodes.values():
        assert _aggregates(info) == _aggregates(_from_scratch(info)), info.name
        assert info.free_cpu == info.alloc_cpu - info.requested_cpu
        assert info.free_memory == info.alloc_memory - info.requested_memory
        assert info.free_pods == info.allowed_pods - len(info.pods)
    assert dict(snapshot.required_anti_affinity_domains()) == _anti_domains(cache)
    held = {uid: state.pod for uid, state in cache._pods.items()}
    for name, node in cache._nodes.items():  # the same PodInfos, in the same order
        assert list(node.pods.items()) == [(uid, state.pod) for uid, state in cache._pods.items()
                                           if state.node_name == name]
    assert list(snapshot.pods_with_affinity()) == [p for p in held.values() if p.scores_other_pods]
    db_pods = snapshot.domain_counts(namespaces=None, selector=DB, topology_key=ZONE)
    assert db_pods == _db_pods(cache)


def _db_pods(cache: SchedulerCache) -> dict[str, int]:
    """``app=db`` pods per zone of a listed node, counted afresh."""
    counts: dict[str, int] = {}
    for node in cache._nodes.values():
        zone = node.labels.get(ZONE)
        number = sum(1 for p in node.pods.values() if p.labels.get("app") == "db")
        if zone is not None and number:
            counts[zone] = counts.get(zone, 0) + number
    return counts


def _anti_domains(cache: SchedulerCache) -> dict[AffinityTerm, dict[str, int]]:
    """Existing pods' required anti-affinity terms → pods per domain of a listed node,
    counted afresh (a pod on a node not listed yet counts nowhere)."""
    tables: dict[AffinityTerm, dict[str, int]] = {}
    for node in cache._nodes.values():
        for pod in node.pods.values():
            for term in set(pod.anti_affinity_terms):
                table = tables.setdefault(term, {})
                value = node.labels.get(term.topology_key)
                if value is not None:
                    table[value] = table.get(value, 0) + 1
    return tables


def _score_matches_fresh(cache: SchedulerCache, pod: PodInfo) -> None:
    """Memoised scores, the runtime's memoised node-local totals and Fit's memoised
    verdicts equal what is computed afresh."""
    snapshot = cache.snapshot()
    nodes = list(snapshot.nodes)
    state = CycleState(snapshot)
    framework = Framework(scheduler_name="test", score_weights={BALANCED_ALLOCATION: 2},
                          plugins=[PrioritySort(), Fit(), BalancedAllocation()])
    for _ in range(2):  # the second round is answered from the memo
        fit = [least_allocated(n, pod.nonzero_cpu, pod.nonzero_memory) for n in nodes]
        balanced = [balance(n, pod.request_cpu, pod.request_memory) for n in nodes]
        assert Fit().score(state, pod, nodes) == fit
        assert BalancedAllocation().score(state, pod, nodes) == balanced
        weight = 2 if pod.request_cpu or pod.request_memory else 0  # else PreScore skips it
        assert framework.score(CycleState(snapshot), pod, nodes) == [
            f + weight * b for f, b in zip(fit, balanced, strict=True)]
        rejected: dict[str, Status] = {}
        assert Fit().filter_nodes(state, pod, nodes, rejected) == [
            n for n in nodes if fits(pod, n)]


@settings(max_examples=150, deadline=None)
@given(steps)
def test_incremental_state_equals_recomputation(
        sequence: list[tuple[str, dict[str, Any], dict[str, Any], int]]) -> None:
    cache = SchedulerCache()
    assumed: list[PodInfo] = []
    for index, (action, node_spec, pod_spec, pick) in enumerate(sequence):
        if action == "node":
            cache.add_node(_node(node_spec))
        elif action == "drop_node":
            cache.remove_node(node_spec["name"])
        elif action == "assume":
            pod = _pod(f"p{index}", pod_spec)
            cache.assume_pod(pod, pod_spec["node"])
            assumed.append(pod)
        elif action == "forget" and assumed:
            cache.forget_pod(assumed.pop(pick % len(assumed)).uid)
        elif action == "add":
            confirmed = assumed.pop(pick % len(assumed)) if assumed else None
            name = confirmed.name if confirmed else f"p{index}"
            cache.add_pod(_pod(name, pod_spec, pod_spec["node"]))  # confirms (may move) a pod
        elif action == "confirm" and assumed:  # the binding seen, maybe relabelled meanwhile
            pod = assumed.pop(pick % len(assumed))
            cache.add_pod(_confirmed(pod, cache._pods[pod.uid].node_name,
                                     {"app": "web" if pick % 2 else "db"}))
        elif action == "remove" and cache._pods:
            uids = sorted(cache._pods)
            cache.remove_pod(uids[pick % len(uids)])
            assumed = [p for p in assumed if p.uid in cache._pods]
        elif action == "score":
            _score_matches_fresh(cache, _pod("incoming", pod_spec))
        _check(cache)


def _confirmed(pod: PodInfo, node_name: str, labels: dict[str, str]) -> PodInfo:
    """The pod as the informer reports it once bound to ``node_name``, with ``labels``."""
    return PodInfo({"metadata": {**pod.pod["metadata"], "labels": labels},
                    "spec": {**pod.pod["spec"], "nodeName": node_name}})


def test_a_confirmed_assumption_keeps_the_memos_unless_it_counts_otherwise() -> None:
    cache = SchedulerCache()
    for name in NODES:
        cache.add_node(make_node(name, labels={ZONE: name}))
    base = {"cpu": "100m", "memory": "64Mi", "gpu": None, "port": 8080, "node": "n1"}
    incoming = _pod("incoming", {**base, "anti": None})
    pods = [_pod(f"p{index}", {**base, "anti": anti})
            for index, anti in enumerate([None, ZONE, PREFER])]
    for pod in pods:
        cache.assume_pod(pod, "n1")
    for pod in pods:
        _score_matches_fresh(cache, incoming)
        node = cache._nodes["n1"]
        memo = node.local_total_key
        cache.add_pod(_confirmed(pod, "n1", {"app": "db"}))  # as assumed: nothing to redo
        assert memo is not None and node.local_total_key is memo
        _check(cache)
        _score_matches_fresh(cache, incoming)
        cache.add_pod(_confirmed(pod, "n1", {"app": "web"}))  # counts otherwise: redone
        assert node.local_total_key is None
        _check(cache)


def _forgotten(info: NodeInfo) -> bool:
    return info.score_memo == {} and info.fits is None and info.local_total_key is None


def _remember(info: NodeInfo) -> None:
    info.remember_local_total("k", 7)
    info.fits = "shape"


def test_any_change_to_a_node_empties_its_score_memo() -> None:
    info = NodeInfo("n1", make_node("n1"))
    pod = PodInfo(make_pod("p", cpu="500m", memory="1Gi"))
    _remember(info)
    info.add_pod(pod)
    assert _forgotten(info)
    _remember(info)
    info.remove_pod(pod.uid)
    assert _forgotten(info)
    _remember(info)
    info.set_node(make_node("n1", cpu="8"))
    assert _forgotten(info)
    _remember(info)
    assert _forgotten(info.clone())
    assert info.score_memo == {"k": 7} and info.local_total == 7 and info.fits == "shape"


def test_score_memo_keeps_a_bounded_number_of_pod_shapes() -> None:
    info = NodeInfo("n1", make_node("n1"))
    for shape in range(3 * MAX_MEMOISED_SCORES):
        assert info.remember_score(f"shape-{shape}", shape) == shape
        assert len(info.score_memo) <= MAX_MEMOISED_SCORES
    assert info.score_memo[f"shape-{3 * MAX_MEMOISED_SCORES - 1}"] == 3 * MAX_MEMOISED_SCORES - 1


def test_memoised_scores_follow_pods_landing_on_the_node() -> None:
    cache = SchedulerCache()
    for name in NODES:
        cache.add_node(make_node(name, cpu="2", memory="4Gi"))
    shapes = [PodInfo(make_pod("incoming", cpu="300m", memory="256Mi")),
              PodInfo(make_pod("other", cpu="200m", memory="1Gi"))]
    rng = random.Random(5)
    for index in range(60):
        # a shape for a while (slot memos), then the other (slot misses, dict hits)
        _score_matches_fresh(cache, shapes[index // 10 % 2])
        pod = PodInfo(make_pod(f"p{index}", cpu="150m", memory=f"{rng.randint(1, 300)}Mi"))
        cache.assume_pod(pod, rng.choice(NODES))


def test_anti_affinity_domains_follow_a_relabelled_node() -> None:
    cache = SchedulerCache()
    cache.add_node(make_node("n0", labels={ZONE: "a"}))
    spec = {"cpu": "100m", "memory": None, "gpu": None, "port": 0, "anti": ZONE}
    cache.add_pod(_pod("db", spec, "n0"))
    _check(cache)
    cache.add_node(make_node("n0", labels={ZONE: "b"}))
    _check(cache)
    cache.remove_node("n0")
    _check(cache)
