"""EndpointSlice desired state and the churn-minimising planner."""

from __future__ import annotations

from typing import Any

import pytest

from steersman.controllers.endpointslice.desired import desired_endpoints
from steersman.controllers.endpointslice.planner import (
    MANAGED_BY_LABEL,
    SERVICE_NAME_LABEL,
    SlicePlan,
    plan_slices,
)
from tests.unit.controllers.fixtures import HTTP, pod, service

Object = dict[str, Any]
NODES = {"n1": {"metadata": {"name": "n1", "labels": {"topology.kubernetes.io/zone": "z1"}}}}


def pods(count: int, *, start: int = 0) -> list[Object]:
    return [pod(f"p{i:03d}", ip=f"10.0.{i // 250}.{i % 250 + 1}", node="n1", ports=HTTP)
            for i in range(start, start + count)]


def apply(plan: SlicePlan, existing: list[Object]) -> list[Object]:
    """What the cluster holds after the plan (created slices get names)."""
    deleted = {s["metadata"]["name"] for s in plan.delete}
    updated = {s["metadata"]["name"]: s for s in plan.update}
    after = [updated.get(s["metadata"]["name"], s) for s in existing
             if s["metadata"]["name"] not in deleted]
    for index, body in enumerate(plan.create):
        after.append({**body, "metadata": {**body["metadata"], "name": f"web-new{index}",
                                           "resourceVersion": "1"}})
    return after


def reconcile(svc: Object, all_pods: list[Object], existing: list[Object],
              max_endpoints: int = 100) -> tuple[SlicePlan, list[Object]]:
    plan = plan_slices(svc, desired_endpoints(svc, all_pods, NODES), existing,
                       max_endpoints=max_endpoints)
    return plan, apply(plan, existing)


def addresses(slices: list[Object]) -> list[str]:
    return sorted(e["addresses"][0] for s in slices for e in s["endpoints"])


def test_endpoint_fields() -> None:
    svc = service()
    leaving = pod("leaving", ip="10.0.0.9", node="n1", ports=HTTP, terminating=True)
    groups = desired_endpoints(svc, [*pods(1), pod("slow", ip="10.0.0.8", ready=False,
                                                   ports=HTTP), leaving], NODES)
    [(ports, endpoints)] = groups.items()
    assert [p.to_dict() for p in ports] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    by_name = {e["targetRef"]["name"]: e for e in endpoints}
    assert by_name["p000"] == {
        "addresses": ["10.0.0.1"],
        "conditions": {"ready": True, "serving": True, "terminating": False},
        "targetRef": {"kind": "Pod", "namespace": "ns", "name": "p000", "uid": "uid-p000"},
        "nodeName": "n1", "zone": "z1"}
    assert by_name["slow"]["conditions"] == {"ready": False, "serving": False,
                                             "terminating": False}
    assert by_name["leaving"]["conditions"] == {"ready": False, "serving": True,
                                                "terminating": True}


def test_publish_not_ready_makes_every_endpoint_ready() -> None:
    svc = service(publish_not_ready=True)
    [endpoints] = desired_endpoints(svc, [pod("slow", ip="10.0.0.8", ready=False,
                                              ports=HTTP)], NODES).values()
    assert endpoints[0]["conditions"]["ready"] is True


def test_first_slice_carries_labels_owner_and_ports() -> None:
    plan, _ = reconcile(service(), pods(3), [])
    [created] = plan.create
    assert created["metadata"]["generateName"] == "web-"
    assert created["metadata"]["labels"] == {"team": "a", SERVICE_NAME_LABEL: "web",
                                             MANAGED_BY_LABEL: "endpointslice-controller.k8s.io"}
    assert created["metadata"]["ownerReferences"][0]["uid"] == "svc-uid"
    assert created["addressType"] == "IPv4"
    assert len(created["endpoints"]) == 3 and not plan.update and not plan.delete


@pytest.mark.parametrize(("count", "slices"), [(100, 1), (101, 2), (250, 3)])
def test_at_most_max_endpoints_per_slice(count: int, slices: int) -> None:
    plan, after = reconcile(service(), pods(count), [])
    assert len(plan.create) == slices
    assert all(len(s["endpoints"]) <= 100 for s in after)
    assert len(addresses(after)) == count


def test_unchanged_state_writes_nothing() -> None:
    _, after = reconcile(service(), pods(150), [])
    plan, _ = reconcile(service(), pods(150), after)
    assert not plan


def test_one_new_pod_touches_one_slice() -> None:
    _, after = reconcile(service(), pods(150), [])
    plan, again = reconcile(service(), pods(151), after)
    assert (len(plan.create), len(plan.update), len(plan.delete)) == (0, 1, 0)
    assert len(addresses(again)) == 151


def test_readiness_change_updates_only_its_slice() -> None:
    _, after = reconcile(service(), pods(150), [])
    changed = pods(150)
    changed[120]["status"]["conditions"][0]["status"] = "False"
    plan, again = reconcile(service(), changed, after)
    assert len(plan.update) == 1 and not plan.create and not plan.delete
    [endpoint] = [e for s in again for e in s["endpoints"]
                  if e["targetRef"]["name"] == "p120"]
    assert endpoint["conditions"]["ready"] is False


def test_emptied_slice_is_deleted() -> None:
    _, after = reconcile(service(), pods(120), [])
    plan, again = reconcile(service(), pods(100), after)
    assert len(plan.delete) == 1 and len(again) == 1


def test_no_endpoints_keeps_one_placeholder() -> None:
    _, after = reconcile(service(), pods(3), [])
    plan, again = reconcile(service(), [], after)
    assert len(plan.update) == 1 and not plan.delete and not plan.create
    assert again[0]["endpoints"] == [] and again[0]["ports"] == []
    plan, _ = reconcile(service(), [], again)
    assert not plan


def test_port_change_reuses_the_slice() -> None:
    _, after = reconcile(service(), pods(3), [])
    renamed = service(ports=[{"name": "web", "port": 80, "targetPort": 8080,
                              "protocol": "TCP"}])
    plan, again = reconcile(renamed, pods(3), after)
    assert (len(plan.create), len(plan.update), len(plan.delete)) == (0, 1, 0)
    assert again[0]["ports"] == [{"name": "web", "port": 8080, "protocol": "TCP"}]


def test_endpoint_in_two_slices_is_kept_once() -> None:
    _, after = reconcile(service(), pods(2), [])
    twin = {**after[0], "metadata": {**after[0]["metadata"], "name": "web-twin"}}
    plan, again = reconcile(service(), pods(2), [*after, twin])
    assert addresses(again) == ["10.0.0.1", "10.0.0.2"]
    assert [s["metadata"]["name"] for s in plan.delete] == ["web-twin"]
