"""PrioritySort: priority first, then arrival."""

from steersman.scheduler.framework.types import PodInfo
from steersman.scheduler.plugins import queue_sort
from tests.unit.scheduler.fixtures import make_pod


def test_order() -> None:
    plugin = queue_sort.new({}, None)  # type: ignore[arg-type]
    low_early = plugin.sort_key(PodInfo(make_pod("a", priority=0)), 1.0)
    low_late = plugin.sort_key(PodInfo(make_pod("b", priority=0)), 2.0)
    high_late = plugin.sort_key(PodInfo(make_pod("c", priority=100)), 3.0)
    assert sorted([low_late, high_late, low_early]) == [high_late, low_early, low_late]
