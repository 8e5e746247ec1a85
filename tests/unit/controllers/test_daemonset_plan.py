"""Which nodes run a daemon pod, and what the DaemonSet controller does next."""

from __future__ import annotations

from typing import Any

import pytest

from steersman.controllers.daemonset.eligibility import (
    NodeFit,
    node_fit,
    pin_to_node,
    target_node,
)
from steersman.controllers.daemonset.plan import (
    Rollout,
    daemon_status,
    manage,
    resolve_rollout,
    rolling_update,
)

Object = dict[str, Any]


def node(name: str, labels: dict[str, str] | None = None, taints: list[Object] | None = None
         ) -> Object:
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": {"taints": taints or []}}


def taint(effect: str, key: str = "dedicated") -> Object:
    return {"key": key, "value": "x", "effect": effect}


AFFINITY = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
    "nodeSelectorTerms": [{"matchExpressions": [
        {"key": "zone", "operator": "In", "values": ["a", "b"]}]}]}}}


@pytest.mark.parametrize(("spec", "target", "expected"), [
    ({}, node("n"), NodeFit(True, True)),
    ({"nodeSelector": {"role": "w"}}, node("n", {"role": "w"}), NodeFit(True, True)),
    ({"nodeSelector": {"role": "w"}}, node("n", {"role": "db"}), NodeFit(False, False)),
    ({"nodeName": "other"}, node("n"), NodeFit(False, False)),
    ({"affinity": AFFINITY}, node("n", {"zone": "a"}), NodeFit(True, True)),
    ({"affinity": AFFINITY}, node("n", {"zone": "c"}), NodeFit(False, False)),
    ({}, node("n", taints=[taint("NoSchedule")]), NodeFit(False, True)),
    ({}, node("n", taints=[taint("NoExecute")]), NodeFit(False, False)),
    ({}, node("n", taints=[taint("PreferNoSchedule")]), NodeFit(True, True)),
    ({"tolerations": [{"key": "dedicated", "operator": "Exists"}]},
     node("n", taints=[taint("NoSchedule"), taint("NoExecute")]), NodeFit(True, True)),
    ({"tolerations": [{"key": "dedicated", "value": "y", "effect": "NoSchedule"}]},
     node("n", taints=[taint("NoSchedule")]), NodeFit(False, True)),
    ({}, node("n", taints=[taint("NoExecute", "node.kubernetes.io/not-ready")]),
     NodeFit(True, True)),
    ({}, node("n", taints=[taint("NoSchedule", "node.kubernetes.io/unschedulable")]),
     NodeFit(True, True)),
    ({}, node("n", taints=[taint("NoSchedule", "node.kubernetes.io/network-unavailable")]),
     NodeFit(False, True)),
    ({"hostNetwork": True},
     node("n", taints=[taint("NoSchedule", "node.kubernetes.io/network-unavailable")]),
     NodeFit(True, True)),
])
def test_node_fit(spec: Object, target: Object, expected: NodeFit) -> None:
    assert node_fit(spec, target) == expected


def test_pinning_replaces_required_terms_and_is_read_back() -> None:
    affinity = pin_to_node({"affinity": AFFINITY}, "n1")
    terms = affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"]
    assert terms == [{"matchFields": [
        {"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]
    assert target_node({"spec": {"affinity": affinity}}) == "n1"
    assert target_node({"spec": {"nodeName": "n2", "affinity": affinity}}) == "n2"


def pod(name: str, node_name: str, digest: str, *, ready: bool = True, phase: str = "Running",
        created: str = "2024-01-01T00:00:00Z") -> Object:
    return {"metadata": {"name": name, "uid": name, "creationTimestamp": created,
                         "labels": {"controller-revision-hash": digest}},
            "spec": {"affinity": pin_to_node({}, node_name)},
            "status": {"phase": phase, "conditions": [
                {"type": "Ready", "status": "True" if ready else "False"}]}}


def rollout(surge: int = 0, unavailable: int = 1) -> Rollout:
    return Rollout("new", surge, unavailable, 0, 0.0)


YES, NO, KEEP = NodeFit(True, True), NodeFit(False, False), NodeFit(False, True)


@pytest.mark.parametrize(("fits", "pods", "creates", "deletes"), [
    ({"a": YES, "b": YES}, {}, ["a", "b"], []),
    ({"a": YES, "b": NO}, {"b": [pod("p", "b", "new")]}, ["a"], ["p"]),
    ({"a": KEEP}, {"a": [pod("p", "a", "new")]}, [], []),
    ({"a": KEEP}, {}, [], []),
    ({"a": YES}, {"gone": [pod("p", "gone", "new")]}, ["a"], ["p"]),
    ({"a": YES}, {"a": [pod("p", "a", "new", phase="Failed")]}, ["a"], ["p"]),
    ({"a": YES}, {"a": [pod("old", "a", "new"),
                        pod("young", "a", "new", created="2024-02-01T00:00:00Z")]}, [], ["young"]),
])
def test_manage(fits: dict[str, NodeFit], pods: dict[str, list[Object]], creates: list[str],
                deletes: list[str]) -> None:
    plan = manage(fits, pods, rollout())
    assert plan.create_on == creates
    assert [p["metadata"]["name"] for p in plan.delete] == deletes


def test_rolling_update_respects_max_unavailable_and_replaces_unavailable_first() -> None:
    fits = {n: YES for n in "abcd"}
    pods = {"a": [pod("pa", "a", "old")], "b": [pod("pb", "b", "old", ready=False)],
            "c": [pod("pc", "c", "old")], "d": [pod("pd", "d", "new")]}
    plan = rolling_update(fits, pods, rollout(unavailable=1))
    assert [p["metadata"]["name"] for p in plan.delete] == ["pb", "pa"]
    pods["d"] = [pod("pd", "d", "new", ready=False)]
    plan = rolling_update(fits, pods, rollout(unavailable=1))
    assert [p["metadata"]["name"] for p in plan.delete] == ["pb"]


def test_rolling_update_with_surge_creates_beside_then_deletes_old() -> None:
    fits = {"a": YES, "b": YES}
    pods = {"a": [pod("pa", "a", "old")], "b": [pod("pb", "b", "old")]}
    assert rolling_update(fits, pods, rollout(surge=1, unavailable=0)).create_on == ["a"]
    pods["a"].append(pod("pa2", "a", "new"))
    plan = rolling_update(fits, pods, rollout(surge=1, unavailable=0))
    assert [p["metadata"]["name"] for p in plan.delete] == ["pa"]
    assert plan.create_on == ["b"]


def test_resolve_rollout_scales_percentages() -> None:
    ds = {"spec": {"updateStrategy": {"rollingUpdate": {"maxUnavailable": "50%",
                                                        "maxSurge": "10%"}}}}
    resolved = resolve_rollout(ds, desired=5, hash="h", now=0.0)
    assert (resolved.max_unavailable, resolved.max_surge) == (2, 1)


def test_status_counts() -> None:
    fits = {"a": YES, "b": YES, "c": NO, "d": YES}
    pods = {"a": [pod("pa", "a", "new")], "b": [pod("pb", "b", "old", ready=False)],
            "c": [pod("pc", "c", "new")]}
    status = daemon_status({"metadata": {"generation": 4}}, fits, pods, rollout())
    assert status == {"desiredNumberScheduled": 3, "currentNumberScheduled": 2,
                      "numberReady": 1, "numberAvailable": 1, "numberUnavailable": 2,
                      "updatedNumberScheduled": 1, "numberMisscheduled": 1,
                      "observedGeneration": 4}
