"""NodeName: table-driven, through the plugin's factory."""

import pytest

from steersman.scheduler.framework.interface import Code
from steersman.scheduler.plugins import node_name
from tests.unit.scheduler.fixtures import cluster, filter_all, make_node, make_pod


@pytest.mark.parametrize(("name", "pod_node", "node", "code"), [
    ("no node name", "", "n1", Code.SUCCESS),
    ("matching", "n1", "n1", Code.SUCCESS),
    ("other node", "n2", "n1", Code.UNSCHEDULABLE_AND_UNRESOLVABLE),
])
def test_node_name(name: str, pod_node: str, node: str, code: Code) -> None:
    plugin = node_name.new({}, None)  # type: ignore[arg-type]
    cache = cluster([make_node(node)])
    pod = make_pod("p")
    pod["spec"]["nodeName"] = pod_node
    status = filter_all(plugin, cache, pod)[node]
    assert status.code is code, name
    if code is not Code.SUCCESS:
        assert status.reasons == (node_name.ERR_REASON,)
