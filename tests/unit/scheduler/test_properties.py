"""Property tests: no placement a filter rejects; no node's requests exceed allocatable."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from steersman.scheduler import Scheduler
from steersman.scheduler.framework.interface import CycleState
from steersman.scheduler.framework.types import PodInfo
from tests.unit.scheduler.fixtures import FakeBinder, FakeRecorder, make_node, make_pod

TAINT = {"key": "dedicated", "value": "infra", "effect": "NoSchedule"}

nodes = st.lists(st.fixed_dictionaries({
    "cpu": st.sampled_from(["500m", "1", "2"]),
    "memory": st.sampled_from(["512Mi", "1Gi", "2Gi"]),
    "pods": st.sampled_from(["2", "5", "110"]),
    "ssd": st.booleans(), "tainted": st.booleans(), "cordoned": st.booleans(),
}), min_size=1, max_size=6)
pods = st.lists(st.fixed_dictionaries({
    "cpu": st.sampled_from(["100m", "250m", "600m", "1"]),
    "memory": st.sampled_from(["64Mi", "256Mi", "700Mi"]),
    "ssd": st.booleans(), "tolerates": st.booleans(), "port": st.sampled_from([0, 0, 8080]),
}), min_size=1, max_size=25)


def _node(index: int, spec: dict[str, Any]) -> dict[str, Any]:
    return make_node(f"n{index}", cpu=spec["cpu"], memory=spec["memory"], pods=spec["pods"],
                     labels={"disktype": "ssd"} if spec["ssd"] else {},
                     taints=[TAINT] if spec["tainted"] else [], unschedulable=spec["cordoned"])


def _pod(index: int, spec: dict[str, Any]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if spec["ssd"]:
        extra["nodeSelector"] = {"disktype": "ssd"}
    if spec["tolerates"]:
        extra["tolerations"] = [{"key": "dedicated", "operator": "Exists"}]
    if spec["port"]:
        extra["ports"] = [{"containerPort": 80, "hostPort": spec["port"]}]
    return make_pod(f"p{index}", cpu=spec["cpu"], memory=spec["memory"], **extra)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nodes, pods)
async def test_placements_pass_every_filter_and_never_overcommit(
        node_specs: list[dict[str, Any]], pod_specs: list[dict[str, Any]]) -> None:
    binder = FakeBinder()
    scheduler = Scheduler(binder=binder, recorder=FakeRecorder(), seed=3)
    for index, spec in enumerate(node_specs):
        scheduler.on_node_add(_node(index, spec))
    raw = {f"p{i}": _pod(i, spec) for i, spec in enumerate(pod_specs)}
    for pod in raw.values():
        scheduler.on_pod_add(pod)
    await scheduler.run_until_idle()

    framework = scheduler.framework
    snapshot = scheduler.cache.snapshot()
    for node in snapshot.nodes:
        for resource, used in node.requested.items():
            assert used <= node.allocatable.get(resource, 0), (node.name, resource)
        assert len(node.pods) <= node.allowed_pods
        for pod in list(node.pods.values()):
            # (a) re-check the pod against its node with the pod itself taken off again
            node.remove_pod(pod.uid)
            info = PodInfo(raw[pod.name])
            state = CycleState(snapshot)
            framework.run_pre_filter(state, info)
            status = framework.run_filters(state, info, node)
            node.add_pod(pod)
            assert status.is_success, (pod.name, node.name, status)
    assert set(binder.bindings) == {p.name for n in snapshot.nodes for p in n.pods.values()}
