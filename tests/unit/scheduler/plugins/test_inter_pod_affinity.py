"""InterPodAffinity: required/preferred affinity and anti-affinity, both directions."""

from typing import Any

import pytest

from steersman.scheduler.framework.interface import Code, CycleState
from steersman.scheduler.framework.types import PodInfo
from steersman.scheduler.plugins import inter_pod_affinity
from tests.unit.scheduler.fixtures import cluster, filter_all, make_node, make_pod

ZONE = "topology.kubernetes.io/zone"
HOST = "kubernetes.io/hostname"


def term(labels: dict[str, str], key: str = HOST, **extra: Any) -> dict[str, Any]:
    return {"labelSelector": {"matchLabels": labels}, "topologyKey": key, **extra}


def affinity(kind: str, *terms: dict[str, Any], preferred: bool = False) -> dict[str, Any]:
    if preferred:
        rules = {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 10, "podAffinityTerm": t} for t in terms]}
    else:
        rules = {"requiredDuringSchedulingIgnoredDuringExecution": list(terms)}
    return {kind: rules}


NODES = [make_node("a1", labels={ZONE: "a"}), make_node("a2", labels={ZONE: "a"}),
         make_node("b1", labels={ZONE: "b"})]
DB_ON_A1 = make_pod("db", labels={"app": "db"}, node_name="a1")


@pytest.mark.parametrize(("name", "existing", "pod_affinity", "expected"), [
    ("affinity to db's zone", [DB_ON_A1], affinity("podAffinity", term({"app": "db"}, ZONE)),
     {"a1": None, "a2": None, "b1": inter_pod_affinity.ERR_AFFINITY}),
    ("affinity to db's host", [DB_ON_A1], affinity("podAffinity", term({"app": "db"})),
     {"a1": None, "a2": inter_pod_affinity.ERR_AFFINITY, "b1": inter_pod_affinity.ERR_AFFINITY}),
    ("anti-affinity to db's zone", [DB_ON_A1],
     affinity("podAntiAffinity", term({"app": "db"}, ZONE)),
     {"a1": inter_pod_affinity.ERR_ANTI_AFFINITY, "a2": inter_pod_affinity.ERR_ANTI_AFFINITY,
      "b1": None}),
    ("other namespace is not matched", [DB_ON_A1],
     affinity("podAntiAffinity", term({"app": "db"}, ZONE, namespaces=["prod"])),
     {"a1": None, "a2": None, "b1": None}),
    ("empty namespaceSelector means all namespaces", [DB_ON_A1],
     affinity("podAntiAffinity", term({"app": "db"}, ZONE, namespaceSelector={})),
     {"a1": inter_pod_affinity.ERR_ANTI_AFFINITY, "a2": inter_pod_affinity.ERR_ANTI_AFFINITY,
      "b1": None}),
    ("first pod of a self-affine group goes anywhere", [],
     affinity("podAffinity", term({"app": "web"}, ZONE)), {"a1": None, "a2": None, "b1": None}),
])
def test_incoming_pod_terms(name: str, existing: list[dict[str, Any]],
                            pod_affinity: dict[str, Any], expected: dict[str, str | None]) -> None:
    cache = cluster(NODES, existing)
    pod = make_pod("p", labels={"app": "web"}, affinity=pod_affinity)
    statuses = filter_all(inter_pod_affinity.new({}, None), cache, pod)  # type: ignore[arg-type]
    got = {n: (s.reasons[0] if s.reasons else None) for n, s in statuses.items()}
    assert got == expected, name


def test_existing_pods_anti_affinity_repels_incoming_pod() -> None:
    guard = make_pod("guard", node_name="a1",
                     affinity=affinity("podAntiAffinity", term({"app": "web"}, ZONE)))
    cache = cluster(NODES, [guard])
    statuses = filter_all(inter_pod_affinity.new({}, None), cache,  # type: ignore[arg-type]
                          make_pod("p", labels={"app": "web"}))
    assert statuses["a2"].reasons == (inter_pod_affinity.ERR_EXISTING_ANTI_AFFINITY,)
    assert statuses["a2"].code is Code.UNSCHEDULABLE
    assert statuses["b1"].is_success


def test_namespace_selector_uses_namespace_labels() -> None:
    cache = cluster(NODES, [make_pod("db", namespace="prod", labels={"app": "db"},
                                     node_name="a1")])
    cache.namespaces["prod"] = {"env": "prod"}
    pod = make_pod("p", affinity=affinity("podAntiAffinity", term(
        {"app": "db"}, ZONE, namespaceSelector={"matchLabels": {"env": "prod"}})))
    statuses = filter_all(inter_pod_affinity.new({}, None), cache, pod)  # type: ignore[arg-type]
    assert not statuses["a1"].is_success and statuses["b1"].is_success


def test_preferred_affinity_and_anti_affinity_score() -> None:
    plugin = inter_pod_affinity.new({}, None)  # type: ignore[arg-type]
    cache = cluster(NODES, [DB_ON_A1])
    nodes = cache.snapshot().nodes
    for kind, expected in (("podAffinity", [100, 100, 0]), ("podAntiAffinity", [0, 0, 100])):
        pod = PodInfo(make_pod("p", affinity=affinity(kind, term({"app": "db"}, ZONE),
                                                      preferred=True)))
        state = CycleState(cache.snapshot())
        assert plugin.pre_score(state, pod, nodes).is_success
        scores = plugin.score(state, pod, nodes)
        plugin.normalize_scores(state, pod, scores)
        assert scores == expected, kind


def test_existing_pods_required_affinity_attracts_incoming_pod() -> None:
    plugin = inter_pod_affinity.new({}, None)  # type: ignore[arg-type]
    fan = make_pod("fan", node_name="b1",
                   affinity=affinity("podAffinity", term({"app": "web"}, ZONE)))
    cache = cluster(NODES, [fan])
    pod = PodInfo(make_pod("p", labels={"app": "web"}))
    state = CycleState(cache.snapshot())
    assert plugin.pre_score(state, pod, cache.snapshot().nodes).is_success
    scores = plugin.score(state, pod, cache.snapshot().nodes)
    plugin.normalize_scores(state, pod, scores)
    assert scores == [0, 0, 100]
