"""The runtime's batched Filter, Score totals and pick among ties, against plain definitions."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steersman.scheduler.framework.interface import SUCCESS, CycleState, Status, unschedulable
from steersman.scheduler.framework.runtime import Framework, SchedulingError
from steersman.scheduler.framework.types import NodeInfo, PodInfo
from steersman.scheduler.plugins.node_resources import Fit
from steersman.scheduler.plugins.queue_sort.priority_sort import PrioritySort
from steersman.scheduler.schedule_one import Algorithm
from tests.unit.scheduler.fixtures import cluster, make_node, make_pod


class FixedScores:
    """A Score plugin that returns the scores it was built with."""

    def __init__(self, name: str, scores: Sequence[int]) -> None:
        self.name = name
        self.scores = list(scores)

    def score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> list[int]:
        return list(self.scores)


score_lists = st.lists(st.integers(0, 100), min_size=3, max_size=3)


@given(st.lists(st.tuples(score_lists, st.integers(1, 3), st.booleans()), max_size=5))
def test_totals_are_the_weighted_sums_of_every_plugins_scores(
        plugins: list[tuple[list[int], int, bool]]) -> None:
    scorers = [FixedScores(f"p{i}", [s[0]] * 3 if same else s)
               for i, (s, _, same) in enumerate(plugins)]
    weights = {f"p{i}": weight for i, (_, weight, _) in enumerate(plugins)}
    framework = Framework(scheduler_name="test", plugins=[PrioritySort(), *scorers],
                          score_weights=weights)
    cache = cluster([make_node(f"n{i}") for i in range(3)])
    state = CycleState(cache.snapshot())
    totals = framework.score(state, PodInfo(make_pod("p")), cache.snapshot().nodes)
    assert totals == [sum(p.scores[i] * weights[p.name] for p in scorers) for i in range(3)]
    varying, uniform = framework.score_parts(CycleState(cache.snapshot()), PodInfo(make_pod("p")),
                                             cache.snapshot().nodes)
    assert [total + uniform for total in varying] == totals
    assert uniform == sum(p.scores[0] * weights[p.name] for p in scorers if len(set(p.scores)) == 1)


@pytest.mark.parametrize("scores", [[1, 2], [5, 5], [0, 0, 101], [101, 101, 101], [-1, 0, 0]])
def test_a_plugin_with_the_wrong_number_or_range_of_scores_is_an_error(
        scores: list[int]) -> None:
    framework = Framework(scheduler_name="test",
                          plugins=[PrioritySort(), FixedScores("bad", scores)], score_weights={})
    cache = cluster([make_node(f"n{i}") for i in range(3)])
    with pytest.raises(SchedulingError, match="bad"):
        framework.score(CycleState(cache.snapshot()), PodInfo(make_pod("p")),
                        cache.snapshot().nodes)


class Constant:
    """A Score plugin scoring every node ``value``, node-locally or as known alike."""

    def __init__(self, name: str, value: int, *, local: bool) -> None:
        self.name, self.value = name, value
        if local:
            self.score_key = lambda pod: f"{name}/{value}"
            self.score_node = lambda pod, node: value
        else:
            self.uniform_score = lambda state, pod: value

    def score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> list[int]:
        return [self.value] * len(nodes)


@pytest.mark.parametrize("local", [True, False])
def test_node_local_and_uniform_scores_are_weighed_and_checked(local: bool) -> None:
    cache = cluster([make_node(f"n{i}") for i in range(3)])
    framework = Framework(scheduler_name="test", score_weights={"good": 3},
                          plugins=[PrioritySort(), Constant("good", 7, local=local),
                                   FixedScores("fixed", [1, 2, 3])])
    state, pod = CycleState(cache.snapshot()), PodInfo(make_pod("p"))
    assert framework.score(state, pod, cache.snapshot().nodes) == [22, 23, 24]
    bad = Framework(scheduler_name="test", score_weights={},
                    plugins=[PrioritySort(), Constant("bad", 101, local=local)])
    with pytest.raises(SchedulingError, match=r"plugin bad returned a score outside 0\.\.100"):
        bad.score(CycleState(cache.snapshot()), pod, cache.snapshot().nodes)


@given(st.lists(st.integers(0, 3), min_size=1, max_size=30), st.integers(0, 1000))
def test_select_picks_among_ties_as_rng_choice_would(totals: list[int], seed: int) -> None:
    framework = Framework(scheduler_name="test", plugins=[PrioritySort()], score_weights={})
    algorithm = Algorithm(framework, rng=random.Random(seed))
    expected_rng = random.Random(seed)
    for _ in range(3):
        ties = [i for i, total in enumerate(totals) if total == max(totals)]
        expected = ties[0] if len(ties) == 1 else expected_rng.choice(ties)
        assert algorithm._select(totals) == expected


class RejectSome:
    """A Filter plugin that rejects the nodes it was given by name."""

    def __init__(self, name: str, rejects: set[str]) -> None:
        self.name = name
        self.rejects = rejects

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        return unschedulable(f"{self.name} says no", plugin=self.name) if (
            node.name in self.rejects) else SUCCESS


def _scan(plugins: list[RejectSome | Fit], state: CycleState, pod: PodInfo,
          nodes: Sequence[NodeInfo], start: int, want: int) -> tuple[list[str], dict[str, Status],
                                                                      int]:
    """The node-by-node definition: rotate, filter in plugin order, stop at ``want``."""
    feasible: list[str] = []
    statuses: dict[str, Status] = {}
    processed = 0
    for node in [*nodes[start:], *nodes[:start]]:
        processed += 1
        status = next((s for p in plugins if not (s := p.filter(state, pod, node)).is_success),
                      SUCCESS)
        if status.is_success:
            feasible.append(node.name)
            if len(feasible) >= want:
                break
        else:
            statuses[node.name] = status
    return feasible, statuses, processed


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 90), st.data())
def test_batched_filtering_equals_the_node_by_node_scan(size: int, data: st.DataObject) -> None:
    names = [f"n{i}" for i in range(size)]
    full = set(data.draw(st.lists(st.sampled_from(names))))
    plugins: list[RejectSome | Fit] = [
        RejectSome("first", set(data.draw(st.lists(st.sampled_from(names))))), Fit(),
        RejectSome("second", set(data.draw(st.lists(st.sampled_from(names)))))]
    framework = Framework(scheduler_name="test", plugins=[PrioritySort(), *plugins],
                          score_weights={})
    cache = cluster([make_node(n, pods="1" if n in full else "110") for n in names],
                    [make_pod(f"on-{n}", node_name=n) for n in full])
    state = CycleState(cache.snapshot())
    pod = PodInfo(make_pod("p", cpu="100m", memory="64Mi"))
    nodes = cache.snapshot().nodes
    start, want = data.draw(st.integers(0, 3 * size)), data.draw(st.integers(1, size + 2))
    outcome = framework.find_feasible(state, pod, nodes, start=start, want=want)
    feasible, statuses, processed = _scan(plugins, state, pod, nodes, start % size, want)
    assert [n.name for n in outcome.feasible] == feasible
    assert outcome.statuses == statuses
    assert outcome.processed == processed


@pytest.mark.parametrize("requests", [
    {"cpu": "1500m", "memory": "1Gi"}, {"cpu": "1500m", "memory": None},
    {"cpu": None, "memory": "3Gi"}, {"cpu": "0", "memory": None},
    {"cpu": "100m", "memory": "1Gi", "extra_requests": {"nvidia.com/gpu": "1"}}])
def test_fit_filter_nodes_agrees_with_filter(requests: dict[str, Any]) -> None:
    nodes = [make_node("small", cpu="1", memory="2Gi"), make_node("gpu", extra={
        "nvidia.com/gpu": "1"}), make_node("full", pods="1"), make_node("big", cpu="8")]
    cache = cluster(nodes, [make_pod("hog", cpu="7", memory="1Gi", node_name="big"),
                            make_pod("one", node_name="full")])
    pod = PodInfo(make_pod("p", **requests))
    state = CycleState(cache.snapshot())
    listed = list(cache.snapshot().nodes)
    rejected: dict[str, Status] = {}
    passed = Fit().filter_nodes(state, pod, listed, rejected)
    one_by_one = {n.name: Fit().filter(state, pod, n) for n in listed}
    assert [n.name for n in passed] == [k for k, s in one_by_one.items() if s.is_success]
    assert rejected == {k: s for k, s in one_by_one.items() if not s.is_success}
