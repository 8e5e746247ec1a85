"""TaintToleration: filter on NoSchedule/NoExecute, score on PreferNoSchedule."""

from typing import Any

import pytest

from steersman.scheduler.framework.interface import Code, CycleState
from steersman.scheduler.framework.types import PodInfo
from steersman.scheduler.plugins import taint_toleration
from tests.unit.scheduler.fixtures import cluster, filter_all, make_node, make_pod

CONTROL_PLANE = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
GPU = {"key": "gpu", "value": "true", "effect": "NoExecute"}


@pytest.mark.parametrize(("name", "taints", "tolerations", "reason"), [
    ("no taints", [], [], None),
    ("untolerated control plane", [CONTROL_PLANE], [],
     "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"),
    ("tolerated by Exists", [CONTROL_PLANE],
     [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists"}], None),
    ("value must match", [GPU], [{"key": "gpu", "value": "false"}],
     "node(s) had untolerated taint {gpu: true}"),
    ("equal value tolerates", [GPU], [{"key": "gpu", "value": "true", "effect": "NoExecute"}],
     None),
    ("wrong effect", [GPU], [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}],
     "node(s) had untolerated taint {gpu: true}"),
    ("empty key Exists tolerates all", [GPU, CONTROL_PLANE], [{"operator": "Exists"}], None),
    ("PreferNoSchedule never filters", [{"key": "a", "effect": "PreferNoSchedule"}], [], None),
])
def test_filter(name: str, taints: list[dict[str, str]], tolerations: list[dict[str, Any]],
                reason: str | None) -> None:
    plugin = taint_toleration.new({}, None)  # type: ignore[arg-type]
    cache = cluster([make_node("n1", taints=taints)])
    status = filter_all(plugin, cache, make_pod("p", tolerations=tolerations))["n1"]
    if reason is None:
        assert status.is_success, name
    else:
        assert status.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE
        assert status.reasons == (reason,)


def test_score_prefers_fewer_untolerated_prefer_no_schedule_taints() -> None:
    plugin = taint_toleration.new({}, None)  # type: ignore[arg-type]
    soft = {"effect": "PreferNoSchedule"}
    cache = cluster([make_node("clean"), make_node("one", taints=[{"key": "a", **soft}]),
                     make_node("two", taints=[{"key": "a", **soft}, {"key": "b", **soft}])])
    pod = PodInfo(make_pod("p", tolerations=[{"key": "b", "operator": "Exists"}]))
    state = CycleState(cache.snapshot())
    scores = plugin.score(state, pod, cache.snapshot().nodes)
    plugin.normalize_scores(state, pod, scores)
    assert scores == [100, 0, 0]


def test_pre_filter_skips_while_no_node_has_a_hard_taint() -> None:
    plugin = taint_toleration.new({}, None)  # type: ignore[arg-type]
    soft = {"key": "a", "effect": "PreferNoSchedule"}
    cache = cluster([make_node("clean"), make_node("soft", taints=[soft])])
    state = CycleState(cache.snapshot())
    assert plugin.pre_filter(state, PodInfo(make_pod("p")))[1].code is Code.SKIP
    cache.add_node(make_node("hard", taints=[CONTROL_PLANE]))
    assert plugin.pre_filter(state, PodInfo(make_pod("p")))[1].code is Code.SUCCESS
    cache.remove_node("hard")
    assert plugin.pre_filter(state, PodInfo(make_pod("p")))[1].code is Code.SKIP


def test_score_without_prefer_no_schedule_taints_anywhere_is_zero_for_all() -> None:
    plugin = taint_toleration.new({}, None)  # type: ignore[arg-type]
    cache = cluster([make_node("a"), make_node("b", taints=[CONTROL_PLANE])])
    pod = PodInfo(make_pod("p"))
    state = CycleState(cache.snapshot())
    scores = plugin.score(state, pod, cache.snapshot().nodes)
    plugin.normalize_scores(state, pod, scores)
    assert scores == [100, 100] == [plugin.uniform_score(state, pod)] * 2
    cache.add_node(make_node("soft", taints=[{"key": "a", "effect": "PreferNoSchedule"}]))
    assert plugin.uniform_score(state, pod) is None
