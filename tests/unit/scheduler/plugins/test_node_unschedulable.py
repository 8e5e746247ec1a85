"""NodeUnschedulable (cordon)."""

import pytest

from steersman.scheduler.framework.interface import Code, CycleState
from steersman.scheduler.framework.types import PodInfo
from steersman.scheduler.plugins import node_unschedulable
from tests.unit.scheduler.fixtures import cluster, filter_all, make_node, make_pod

TOLERATE = [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists",
             "effect": "NoSchedule"}]


@pytest.mark.parametrize(("name", "cordoned", "tolerations", "code"), [
    ("schedulable node", False, [], Code.SUCCESS),
    ("cordoned node", True, [], Code.UNSCHEDULABLE_AND_UNRESOLVABLE),
    ("cordoned, tolerated", True, TOLERATE, Code.SUCCESS),
])
def test_unschedulable(name: str, cordoned: bool, tolerations: list[dict[str, str]],
                       code: Code) -> None:
    plugin = node_unschedulable.new({}, None)  # type: ignore[arg-type]
    cache = cluster([make_node("n1", unschedulable=cordoned)])
    status = filter_all(plugin, cache, make_pod("p", tolerations=tolerations))["n1"]
    assert status.code is code, name
    if code is not Code.SUCCESS:
        assert status.reasons == ("node(s) were unschedulable",)


@pytest.mark.parametrize(("name", "cordoned", "tolerations", "code"), [
    ("no cordoned node", False, [], Code.SKIP),
    ("a cordoned node", True, [], Code.SUCCESS),
    ("a cordoned node, tolerated", True, TOLERATE, Code.SKIP),
])
def test_pre_filter_skips_when_no_node_could_be_rejected(
        name: str, cordoned: bool, tolerations: list[dict[str, str]], code: Code) -> None:
    plugin = node_unschedulable.new({}, None)  # type: ignore[arg-type]
    cache = cluster([make_node("n1"), make_node("n2", unschedulable=cordoned)])
    state = CycleState(cache.snapshot())
    _, status = plugin.pre_filter(state, PodInfo(make_pod("p", tolerations=tolerations)))
    assert status.code is code, name
