"""NodeResourcesFit (filter + LeastAllocated) and BalancedAllocation."""

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from steersman.scheduler.framework.interface import Code, CycleState
from steersman.scheduler.framework.resources import nonzero_requests, pod_requests, pod_resources
from steersman.scheduler.framework.types import PodInfo
from steersman.scheduler.plugins import node_resources
from tests.unit.scheduler.fixtures import cluster, filter_all, make_node, make_pod


@pytest.mark.parametrize(("name", "node", "existing", "pod", "code", "reasons"), [
    ("fits", {}, [], {"cpu": "1"}, Code.SUCCESS, ()),
    ("insufficient cpu", {"cpu": "2"}, [{"cpu": "1500m"}], {"cpu": "1"},
     Code.UNSCHEDULABLE, ("Insufficient cpu",)),
    ("cpu and memory", {"cpu": "2", "memory": "1Gi"}, [{"cpu": "2", "memory": "1Gi"}],
     {"cpu": "1", "memory": "1Mi"}, Code.UNSCHEDULABLE,
     ("Insufficient cpu", "Insufficient memory")),
    ("larger than the node", {"cpu": "2"}, [], {"cpu": "3"},
     Code.UNSCHEDULABLE_AND_UNRESOLVABLE, ("Insufficient cpu",)),
    ("too many pods", {"pods": "1"}, [{"cpu": "10m"}], {"cpu": "10m"},
     Code.UNSCHEDULABLE, ("Too many pods",)),
    ("ephemeral storage", {"extra": {"ephemeral-storage": "1Gi"}}, [],
     {"cpu": "10m", "extra_requests": {"ephemeral-storage": "2Gi"}},
     Code.UNSCHEDULABLE_AND_UNRESOLVABLE, ("Insufficient ephemeral-storage",)),
    ("gpu fits", {"extra": {"nvidia.com/gpu": "2"}}, [{"extra_requests": {"nvidia.com/gpu": "1"}}],
     {"extra_requests": {"nvidia.com/gpu": "1"}}, Code.SUCCESS, ()),
    ("gpu exhausted", {"extra": {"nvidia.com/gpu": "1"}},
     [{"extra_requests": {"nvidia.com/gpu": "1"}}], {"extra_requests": {"nvidia.com/gpu": "1"}},
     Code.UNSCHEDULABLE, ("Insufficient nvidia.com/gpu",)),
    ("gpu on a node without gpus", {}, [], {"extra_requests": {"nvidia.com/gpu": "1"}},
     Code.UNSCHEDULABLE_AND_UNRESOLVABLE, ("Insufficient nvidia.com/gpu",)),
    ("best-effort pod", {"cpu": "1"}, [{"cpu": "1"}], {"cpu": None}, Code.SUCCESS, ()),
])
def test_fit(name: str, node: dict[str, Any], existing: list[dict[str, Any]],
             pod: dict[str, Any], code: Code, reasons: tuple[str, ...]) -> None:
    pods = [make_pod(f"old{i}", node_name="n1", **spec) for i, spec in enumerate(existing)]
    cache = cluster([make_node("n1", **node)], pods)
    status = filter_all(node_resources.new_fit({}, None), cache,  # type: ignore[arg-type]
                        make_pod("p", **pod))["n1"]
    assert status.code is code, name
    assert status.reasons == reasons


def test_init_containers_and_sidecars_count_like_upstream() -> None:
    pod = make_pod("p", cpu="100m", initContainers=[
        {"name": "init", "resources": {"requests": {"cpu": "500m"}}},
        {"name": "sidecar", "restartPolicy": "Always",
         "resources": {"requests": {"cpu": "200m"}}},
    ], overhead={"cpu": "50m"})
    # max(app 100m + sidecar 200m, init 500m) + overhead 50m
    assert PodInfo(pod).requests["cpu"] == 550


def test_least_allocated_prefers_emptier_node() -> None:
    fit = node_resources.new_fit({}, None)  # type: ignore[arg-type]
    cache = cluster([make_node("busy", cpu="4", memory="4Gi"),
                     make_node("idle", cpu="4", memory="4Gi")],
                    [make_pod("old", node_name="busy", cpu="2", memory="2Gi")])
    pod = PodInfo(make_pod("p", cpu="1", memory="1Gi"))
    scores = fit.score(CycleState(cache.snapshot()), pod, cache.snapshot().nodes)
    assert scores == [25, 75]


def test_balanced_allocation() -> None:
    balanced = node_resources.new_balanced_allocation({}, None)  # type: ignore[arg-type]
    cache = cluster([make_node("even", cpu="4", memory="4Gi"),
                     make_node("skewed", cpu="4", memory="4Gi")],
                    [make_pod("old", node_name="skewed", cpu="3", memory="0")])
    pod = PodInfo(make_pod("p", cpu="1", memory="1Gi"))
    state = CycleState(cache.snapshot())
    assert balanced.pre_score(state, pod, cache.snapshot().nodes).is_success
    # even: 0.25/0.25 → 100; skewed: cpu 1.0, memory 0.25 → (1 - 0.375) * 100
    assert balanced.score(state, pod, cache.snapshot().nodes) == [100, 62]


def test_balanced_allocation_skips_pods_without_requests() -> None:
    balanced = node_resources.new_balanced_allocation({}, None)  # type: ignore[arg-type]
    cache = cluster([make_node("n1")])
    state = CycleState(cache.snapshot())
    status = balanced.pre_score(state, PodInfo(make_pod("p", cpu=None)), [])
    assert status.code is Code.SKIP


requests = st.dictionaries(st.sampled_from(["cpu", "memory", "nvidia.com/gpu"]),
                           st.sampled_from(["0", "100m", "1", "64Mi", "2Gi"]), max_size=3)
containers = st.lists(st.builds(lambda r: {"name": "c", "resources": {"requests": r}}, requests),
                      max_size=3)


@given(containers, containers, st.one_of(st.none(), requests), st.booleans())
def test_pod_resources_equal_requests_and_nonzero_requests(
        main: list[dict[str, Any]], init: list[dict[str, Any]], overhead: dict[str, str] | None,
        sidecar: bool) -> None:
    for container in init[:1] if sidecar else ():
        container["restartPolicy"] = "Always"
    spec: dict[str, Any] = {"containers": main, "initContainers": init, "overhead": overhead}
    found, cpu, memory = pod_resources(spec)
    assert (list(found.items()), cpu, memory) == (list(pod_requests(spec).items()),
                                                  *nonzero_requests(spec))
