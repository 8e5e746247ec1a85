"""NodeUnschedulable (cordon)."""

import pytest

from steersman.scheduler.framework.interface import Code
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
