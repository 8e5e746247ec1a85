"""SchedulingQueue: ordering, back-off growth, moves on cluster events, the 5-minute flush."""

from steersman.scheduler.clock import FakeClock
from steersman.scheduler.framework.types import PodInfo
from steersman.scheduler.queue import SchedulingQueue
from tests.unit.scheduler.fixtures import make_pod


def new_queue() -> tuple[SchedulingQueue, FakeClock]:
    clock = FakeClock()
    return SchedulingQueue(sort_key=lambda pod, at: (-pod.priority, at), clock=clock), clock


def test_priority_then_arrival() -> None:
    queue, clock = new_queue()
    queue.add(PodInfo(make_pod("early")))
    clock._now = 1.0
    queue.add(PodInfo(make_pod("urgent", priority=10)))
    queue.add(PodInfo(make_pod("late")))
    names = [queue.pop_nowait().info.name for _ in range(3)]  # type: ignore[union-attr]
    assert names == ["urgent", "early", "late"]


def test_backoff_doubles_up_to_ten_seconds() -> None:
    queue, clock = new_queue()
    queue.add(PodInfo(make_pod("p")))
    waits = []
    for _ in range(6):
        queued = queue.pop_nowait()
        assert queued is not None
        queue.requeue_backoff(queued)
        waits.append(queued.backoff_until - clock.now())
        clock._now = queued.backoff_until
        queue.flush()
    assert waits == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_unschedulable_waits_for_an_event_then_backs_off() -> None:
    queue, clock = new_queue()
    queue.add(PodInfo(make_pod("p")))
    queued = queue.pop_nowait()
    assert queued is not None
    queue.requeue_unschedulable(queued, cycle=queue.scheduling_cycle)
    assert queue.counts()["unschedulable"] == 1
    clock._now = 5.0
    queue.flush()
    assert queue.counts()["unschedulable"] == 1  # no event: stays parked
    queue.move_all()
    assert queue.counts()["active"] == 1  # its 1 s back-off already passed


def test_event_during_the_cycle_is_not_lost() -> None:
    queue, _ = new_queue()
    queue.add(PodInfo(make_pod("p")))
    queued = queue.pop_nowait()
    assert queued is not None
    queue.move_all()  # a node arrived while the pod was being scheduled
    queue.requeue_unschedulable(queued, cycle=queue.scheduling_cycle)
    assert queue.counts()["backoff"] == 1


def test_parked_pods_are_retried_after_five_minutes() -> None:
    queue, clock = new_queue()
    queue.add(PodInfo(make_pod("p")))
    queued = queue.pop_nowait()
    assert queued is not None
    queue.requeue_unschedulable(queued, cycle=queue.scheduling_cycle)
    clock._now = 300.0
    queue.flush()
    assert queue.counts()["active"] == 1


def test_move_only_pods_rejected_by_interested_plugins() -> None:
    queue, _ = new_queue()
    queue.add(PodInfo(make_pod("p")))
    queued = queue.pop_nowait()
    assert queued is not None
    queue.requeue_unschedulable(queued, cycle=queue.scheduling_cycle,
                                rejected_by={"NodeResourcesFit"})
    queue.move_all(plugins=frozenset({"InterPodAffinity"}))
    assert queue.counts()["unschedulable"] == 1
    queue.move_all(plugins=frozenset({"NodeResourcesFit"}))
    assert queue.counts()["unschedulable"] == 0
