"""PodTopologySpread: maxSkew, minDomains, missing labels, node inclusion, scoring."""

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steersman.scheduler.framework.interface import Code, CycleState
from steersman.scheduler.framework.types import PodInfo
from steersman.scheduler.plugins import pod_topology_spread
from steersman.scheduler.plugins.pod_topology_spread.constraints import constraints
from tests.unit.scheduler.fixtures import cluster, filter_all, make_node, make_pod

ZONE = "topology.kubernetes.io/zone"
SKEWED = pod_topology_spread.ERR_CONSTRAINTS_NOT_MATCH
NO_LABEL = pod_topology_spread.ERR_NODE_LABEL_NOT_MATCH


def spread(max_skew: int = 1, when: str = "DoNotSchedule", **extra: Any) -> dict[str, Any]:
    return {"topologySpreadConstraints": [
        {"maxSkew": max_skew, "topologyKey": ZONE, "whenUnsatisfiable": when,
         "labelSelector": {"matchLabels": {"app": "web"}}, **extra}]}


def web(name: str, node: str) -> dict[str, Any]:
    return make_pod(name, labels={"app": "web"}, node_name=node)


NODES = [make_node("a1", labels={ZONE: "a"}), make_node("b1", labels={ZONE: "b"}),
         make_node("nolabel")]


@pytest.mark.parametrize(("name", "existing", "spec", "expected"), [
    ("empty cluster", [], spread(), {"a1": None, "b1": None, "nolabel": NO_LABEL}),
    ("one in a: only b keeps skew 1", [web("w1", "a1")], spread(),
     {"a1": SKEWED, "b1": None, "nolabel": NO_LABEL}),
    ("maxSkew 2 allows a", [web("w1", "a1")], spread(2),
     {"a1": None, "b1": None, "nolabel": NO_LABEL}),
    ("other labels don't count", [make_pod("x", node_name="a1")], spread(),
     {"a1": None, "b1": None, "nolabel": NO_LABEL}),
    ("minDomains 3 forces the minimum to 0", [web("w1", "a1"), web("w2", "b1")],
     spread(1, minDomains=3), {"a1": SKEWED, "b1": SKEWED, "nolabel": NO_LABEL}),
    ("nodeSelector narrows the domains", [web("w1", "a1")],
     {**spread(), "nodeSelector": {ZONE: "a"}}, {"a1": None, "b1": None, "nolabel": NO_LABEL}),
    ("ScheduleAnyway never filters", [web("w1", "a1")], spread(when="ScheduleAnyway"),
     {"a1": None, "b1": None, "nolabel": None}),
    ("every constraint must hold", [web("w1", "a1")], {"topologySpreadConstraints": [
        *spread(2)["topologySpreadConstraints"],
        {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
         "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "web"}}}]},
     {"a1": SKEWED, "b1": None, "nolabel": NO_LABEL}),
])
def test_filter(name: str, existing: list[dict[str, Any]], spec: dict[str, Any],
                expected: dict[str, str | None]) -> None:
    cache = cluster(NODES, existing)
    pod = make_pod("p", labels={"app": "web"}, **spec)
    statuses = filter_all(pod_topology_spread.new({}, None), cache, pod)  # type: ignore[arg-type]
    got = {n: (s.reasons[0] if s.reasons else None) for n, s in statuses.items()}
    assert got == expected, name
    if expected["nolabel"]:
        assert statuses["nolabel"].code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE


def test_counts_follow_assumed_pods() -> None:
    cache = cluster(NODES)
    plugin = pod_topology_spread.new({}, None)  # type: ignore[arg-type]
    pod = make_pod("p", labels={"app": "web"}, **spread())
    assert filter_all(plugin, cache, pod)["a1"].is_success
    cache.assume_pod(PodInfo(web("w1", "a1")), "a1")
    assert not filter_all(plugin, cache, pod)["a1"].is_success
    cache.forget_pod("uid-w1")
    assert filter_all(plugin, cache, pod)["a1"].is_success


def test_schedule_anyway_scores_emptier_domain_higher() -> None:
    plugin = pod_topology_spread.new({}, None)  # type: ignore[arg-type]
    cache = cluster(NODES, [web("w1", "a1"), web("w2", "a1")])
    nodes = cache.snapshot().nodes
    pod = PodInfo(make_pod("p", labels={"app": "web"}, **spread(when="ScheduleAnyway")))
    state = CycleState(cache.snapshot())
    assert plugin.pre_score(state, pod, nodes).is_success
    scores = plugin.score(state, pod, nodes)
    plugin.normalize_scores(state, pod, scores)
    assert scores[1] == 100 and scores[0] < scores[1] and scores[2] == 0


def test_a_max_skew_below_one_rejects_even_empty_domains() -> None:
    cache = cluster(NODES)
    pod = make_pod("p", labels={"app": "web"}, **spread(-1))
    statuses = filter_all(pod_topology_spread.new({}, None), cache, pod)  # type: ignore[arg-type]
    assert not any(s.is_success for s in statuses.values())


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([None, "a", "b", "c"]), min_size=1, max_size=8),
       st.lists(st.integers(0, 7), max_size=12), st.integers(1, 3))
def test_batch_filter_agrees_with_filter(zones: list[str | None], placed: list[int],
                                         max_skew: int) -> None:
    """Every node labelled or not, domains full or not: ``filter_nodes`` (checked against
    ``filter`` by ``filter_all``) takes its shortcuts only where they give the same."""
    nodes = [make_node(f"n{i}", labels={ZONE: zone} if zone else None)
             for i, zone in enumerate(zones)]
    existing = [web(f"w{i}", f"n{index % len(zones)}") for i, index in enumerate(placed)]
    filter_all(pod_topology_spread.new({}, None), cluster(nodes, existing),  # type: ignore[arg-type]
               make_pod("p", labels={"app": "web"}, **spread(max_skew)))


def test_replicas_share_parsed_constraints_unless_match_label_keys_reads_their_labels() -> None:
    plain = spread()
    keyed = spread(matchLabelKeys=["version"])
    first, second = (PodInfo(make_pod(n, labels={"app": "web", "version": n}, **plain))
                     for n in ("v1", "v2"))
    assert constraints(first) is constraints(second)
    first, second = (PodInfo(make_pod(n, labels={"app": "web", "version": n}, **keyed))
                     for n in ("v1", "v2"))
    assert [str(c.selector) for c in (*constraints(first), *constraints(second))] == [
        "app=web,version in (v1)", "app=web,version in (v2)"]
