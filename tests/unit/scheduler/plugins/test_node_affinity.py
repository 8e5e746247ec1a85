"""NodeAffinity: nodeSelector, required and preferred terms, matchFields."""

from typing import Any

import pytest

from steersman.scheduler.framework.interface import Code, CycleState
from steersman.scheduler.framework.types import PodInfo
from steersman.scheduler.plugins import node_affinity
from tests.unit.scheduler.fixtures import cluster, filter_all, make_node, make_pod


def required(*terms: dict[str, Any]) -> dict[str, Any]:
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": list(terms)}}}


def expr(key: str, operator: str, *values: str) -> dict[str, Any]:
    return {"key": key, "operator": operator, "values": list(values)}


SSD = {"disktype": "ssd"}


@pytest.mark.parametrize(("name", "labels", "spec", "fits"), [
    ("no constraints", {}, {}, True),
    ("nodeSelector match", SSD, {"nodeSelector": SSD}, True),
    ("nodeSelector miss", {"disktype": "hdd"}, {"nodeSelector": SSD}, False),
    ("In", SSD, {"affinity": required({"matchExpressions": [expr("disktype", "In", "ssd")]})},
     True),
    ("NotIn", SSD,
     {"affinity": required({"matchExpressions": [expr("disktype", "NotIn", "ssd")]})}, False),
    ("Exists", SSD,
     {"affinity": required({"matchExpressions": [expr("disktype", "Exists")]})}, True),
    ("DoesNotExist", {},
     {"affinity": required({"matchExpressions": [expr("disktype", "DoesNotExist")]})}, True),
    ("Gt", {"cores": "8"},
     {"affinity": required({"matchExpressions": [expr("cores", "Gt", "4")]})}, True),
    ("Lt", {"cores": "8"},
     {"affinity": required({"matchExpressions": [expr("cores", "Lt", "4")]})}, False),
    ("terms are ORed", SSD, {"affinity": required(
        {"matchExpressions": [expr("disktype", "In", "hdd")]},
        {"matchExpressions": [expr("disktype", "In", "ssd")]})}, True),
    ("empty term matches nothing", SSD, {"affinity": required({})}, False),
    ("selector AND affinity", SSD, {"nodeSelector": {"zone": "a"}, "affinity": required(
        {"matchExpressions": [expr("disktype", "In", "ssd")]})}, False),
    ("matchFields name", {}, {"affinity": required(
        {"matchFields": [expr("metadata.name", "In", "n1")]})}, True),
])
def test_filter(name: str, labels: dict[str, str], spec: dict[str, Any], fits: bool) -> None:
    cache = cluster([make_node("n1", labels=labels)])
    status = filter_all(node_affinity.new({}, None), cache,  # type: ignore[arg-type]
                        make_pod("p", **spec))["n1"]
    assert status.is_success is fits, name
    if not fits:
        assert status.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE
        assert status.reasons == ("node(s) didn't match Pod's node affinity/selector",)


def test_match_fields_narrows_the_node_set() -> None:
    plugin = node_affinity.new({}, None)  # type: ignore[arg-type]
    cache = cluster([make_node("n1"), make_node("n2")])
    pod = PodInfo(make_pod("p", affinity=required(
        {"matchFields": [expr("metadata.name", "In", "n2")]})))
    result, status = plugin.pre_filter(CycleState(cache.snapshot()), pod)
    assert status.is_success and result is not None
    assert result.node_names == frozenset({"n2"})


def test_preferred_terms_score_by_weight() -> None:
    plugin = node_affinity.new({}, None)  # type: ignore[arg-type]
    cache = cluster([make_node("ssd", labels=SSD), make_node("plain"),
                     make_node("both", labels={**SSD, "zone": "a"})])
    pod = PodInfo(make_pod("p", affinity={"nodeAffinity": {
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 2, "preference": {"matchExpressions": [expr("disktype", "In", "ssd")]}},
            {"weight": 3, "preference": {"matchExpressions": [expr("zone", "In", "a")]}}]}}))
    state = CycleState(cache.snapshot())
    scores = plugin.score(state, pod, cache.snapshot().nodes)
    plugin.normalize_scores(state, pod, scores)
    assert scores == [40, 0, 100]


def test_memoised_preference_scores_are_keyed_by_the_terms_value() -> None:
    plugin = node_affinity.new({}, None)  # type: ignore[arg-type]
    cache = cluster([make_node("ssd", labels=SSD), make_node("plain")])
    nodes = cache.snapshot().nodes
    state = CycleState(cache.snapshot())

    def preferring(name: str, key: str, value: str) -> PodInfo:
        return PodInfo(make_pod(name, affinity={"nodeAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 5, "preference": {"matchExpressions": [expr(key, "In", value)]}}]}}))

    assert plugin.score(state, preferring("a", "disktype", "ssd"), nodes) == [5, 0]
    assert plugin.score(state, preferring("b", "disktype", "ssd"), nodes) == [5, 0]  # memo
    assert plugin.score(state, preferring("c", "disktype", "hdd"), nodes) == [0, 0]
    cache.add_node(make_node("plain", labels={"disktype": "hdd"}))  # relabelled: memo emptied
    assert plugin.score(state, preferring("d", "disktype", "hdd"), nodes) == [0, 5]
