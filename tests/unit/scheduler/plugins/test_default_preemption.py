"""DefaultPreemption: victims, candidates, PDBs and the messages."""

from steersman.scheduler.framework.interface import Code, CycleState, unschedulable
from steersman.scheduler.framework.types import PodInfo
from steersman.scheduler.plugins import default_preemption
from steersman.scheduler.plugins.registry import build_framework, default_profile
from tests.unit.scheduler.fixtures import FakeBinder, cluster, make_node, make_pod


class _Handle:
    def __init__(self) -> None:
        self.framework = build_framework(default_profile(), self)  # type: ignore[arg-type]

    def run_filters(self, state, pod, node):  # type: ignore[no-untyped-def]
        return self.framework.run_filters(state, pod, node)

    async def bind(self, pod, node_name):  # type: ignore[no-untyped-def]
        await FakeBinder().bind(pod, node_name)


def _post_filter(cache, pod, statuses):  # type: ignore[no-untyped-def]
    handle = _Handle()
    plugin = default_preemption.new({}, handle)  # type: ignore[arg-type]
    state, info = CycleState(cache.snapshot()), PodInfo(pod)
    handle.framework.run_pre_filter(state, info)  # as the cycle did before PostFilter
    return plugin.post_filter(state, info, statuses)


INSUFFICIENT = unschedulable("Insufficient cpu", plugin="NodeResourcesFit")


def test_evicts_fewest_lowest_priority_pods() -> None:
    cache = cluster([make_node("n1", cpu="2"), make_node("n2", cpu="2")], [
        make_pod("low-a", cpu="1", node_name="n1", priority=1),
        make_pod("low-b", cpu="1", node_name="n1", priority=1),
        make_pod("mid", cpu="1", node_name="n2", priority=5),
        make_pod("high", cpu="1", node_name="n2", priority=50),
    ])
    result, status = _post_filter(cache, make_pod("p", cpu="1", priority=10),
                                  {"n1": INSUFFICIENT, "n2": INSUFFICIENT})
    assert status.is_success and result is not None
    assert result.nominated_node_name == "n1"
    assert [v.name for v in result.victims] in (["low-a"], ["low-b"])


def test_never_preempts_higher_priority_pods() -> None:
    cache = cluster([make_node("n1", cpu="1")],
                    [make_pod("high", cpu="1", node_name="n1", priority=100)])
    _result, status = _post_filter(cache, make_pod("p", cpu="1", priority=10),
                                  {"n1": INSUFFICIENT})
    assert status.code is Code.UNSCHEDULABLE
    assert status.message() == ("preemption: 0/1 nodes are available: "
                                "1 No preemption victims found for incoming pod.")


def test_unresolvable_nodes_are_not_helpful() -> None:
    cache = cluster([make_node("n1")])
    taint = unschedulable("x")
    unresolvable = type(taint)(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, ("taint",), "T")
    _, status = _post_filter(cache, make_pod("p", priority=10), {"n1": unresolvable})
    assert status.message() == ("preemption: 0/1 nodes are available: "
                                "1 Preemption is not helpful for scheduling.")


def test_preemption_policy_never() -> None:
    cache = cluster([make_node("n1")])
    _, status = _post_filter(cache, make_pod("p", priority=10, preemptionPolicy="Never"),
                             {"n1": INSUFFICIENT})
    assert status.message() == "preemption: not eligible due to preemptionPolicy=Never."


def test_pdb_protected_pods_are_spared_when_possible() -> None:
    cache = cluster([make_node("n1", cpu="2")], [
        make_pod("guarded", cpu="1", node_name="n1", priority=1, labels={"app": "db"}),
        make_pod("free", cpu="1", node_name="n1", priority=1),
    ])
    cache.budgets["default/db"] = {
        "metadata": {"name": "db", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "db"}}},
        "status": {"disruptionsAllowed": 0}}
    result, status = _post_filter(cache, make_pod("p", cpu="1", priority=10),
                                  {"n1": INSUFFICIENT})
    assert status.is_success and result is not None
    assert [v.name for v in result.victims] == ["free"]
