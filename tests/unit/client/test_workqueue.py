"""WorkQueue semantics in virtual time: dedup, exclusivity, requeue, delays, back-off, shutdown."""

from __future__ import annotations

import asyncio

import pytest

from steersman.client import FakeClock, ItemExponentialBackoff, QueueShutDown, WorkQueue
from steersman.client.workqueue import run_workers


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


def drain(queue: WorkQueue[str]) -> list[str]:
    taken = []
    while True:
        try:
            taken.append(queue.get_nowait())
        except asyncio.QueueEmpty:
            return taken


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def queue(clock: FakeClock) -> WorkQueue[str]:
    return WorkQueue(clock=clock)


def test_an_item_added_twice_is_handed_out_once(queue: WorkQueue[str]) -> None:
    queue.add("a")
    queue.add("b")
    queue.add("a")
    assert len(queue) == 2
    assert drain(queue) == ["a", "b"]


def test_an_item_being_processed_is_not_handed_out_again(queue: WorkQueue[str]) -> None:
    queue.add("a")
    assert queue.get_nowait() == "a"
    queue.add("a")
    assert drain(queue) == []


def test_an_item_added_while_processing_is_requeued_once_on_done(queue: WorkQueue[str]) -> None:
    queue.add("a")
    queue.get_nowait()
    queue.add("a")
    queue.add("a")
    queue.done("a")
    assert drain(queue) == ["a"]


def test_done_without_a_new_add_does_not_requeue(queue: WorkQueue[str]) -> None:
    queue.add("a")
    queue.get_nowait()
    queue.done("a")
    assert drain(queue) == []


async def test_get_waits_for_an_add(queue: WorkQueue[str]) -> None:
    getter = asyncio.create_task(queue.get())
    await settle()
    assert not getter.done()
    queue.add("a")
    assert await asyncio.wait_for(getter, 1) == "a"


async def test_add_after_hands_items_out_in_deadline_order(
        queue: WorkQueue[str], clock: FakeClock) -> None:
    queue.add_after("late", 5)
    queue.add_after("early", 1)
    queue.add_after("now", 0)
    assert drain(queue) == ["now"]
    clock.advance(1)
    assert drain(queue) == ["early"]
    clock.advance(3.9)
    assert drain(queue) == []
    clock.advance(0.1)
    assert drain(queue) == ["late"]


async def test_add_after_keeps_the_earliest_pending_deadline(
        queue: WorkQueue[str], clock: FakeClock) -> None:
    queue.add_after("a", 10)
    queue.add_after("a", 2)
    queue.add_after("a", 7)
    clock.advance(2)
    assert drain(queue) == ["a"]
    queue.done("a")
    clock.advance(10)
    assert drain(queue) == []


async def test_a_waiting_get_wakes_when_a_delay_passes(
        queue: WorkQueue[str], clock: FakeClock) -> None:
    getter = asyncio.create_task(queue.get())
    await settle()
    queue.add_after("a", 3)
    await settle()
    clock.advance(2.5)
    await settle()
    assert not getter.done()
    clock.advance(0.5)
    assert await asyncio.wait_for(getter, 1) == "a"


def test_rate_limited_delays_double_per_failure_up_to_the_cap(clock: FakeClock) -> None:
    limiter = ItemExponentialBackoff(base=0.005, cap=1000.0)
    delays = [limiter.when("a") for _ in range(20)]
    assert delays[:4] == [0.005, 0.01, 0.02, 0.04]
    assert delays[-1] == 1000.0
    assert delays == sorted(delays)
    assert limiter.retries("a") == 20
    assert limiter.when("b") == 0.005


async def test_add_rate_limited_backs_off_and_forget_resets(
        queue: WorkQueue[str], clock: FakeClock) -> None:
    for expected in (0.005, 0.01, 0.02):
        queue.add_rate_limited("a")
        clock.advance(expected * 0.9)
        assert drain(queue) == []
        clock.advance(expected * 0.2)
        assert drain(queue) == ["a"]
        queue.done("a")
    assert queue.num_requeues("a") == 3
    queue.forget("a")
    assert queue.num_requeues("a") == 0
    queue.add_rate_limited("a")
    clock.advance(0.005)
    assert drain(queue) == ["a"]


async def test_shutdown_drains_queued_items_then_raises(
        queue: WorkQueue[str], clock: FakeClock) -> None:
    queue.add("a")
    queue.add_after("later", 1)
    queue.shutdown()
    queue.add("b")
    assert await queue.get() == "a"
    clock.advance(5)
    with pytest.raises(QueueShutDown):
        await queue.get()


async def test_shutdown_wakes_waiting_getters(queue: WorkQueue[str]) -> None:
    getters = [asyncio.create_task(queue.get()) for _ in range(3)]
    await settle()
    queue.shutdown()
    results = await asyncio.gather(*getters, return_exceptions=True)
    assert all(isinstance(result, QueueShutDown) for result in results)


async def test_a_cancelled_getter_does_not_swallow_items(queue: WorkQueue[str]) -> None:
    first = asyncio.create_task(queue.get())
    second = asyncio.create_task(queue.get())
    await settle()
    first.cancel()
    queue.add("a")
    assert await asyncio.wait_for(second, 1) == "a"


async def test_run_workers_retries_failures_with_back_off_and_forgets_success(
        queue: WorkQueue[str], clock: FakeClock) -> None:
    attempts: list[str] = []

    async def reconcile(item: str) -> None:
        attempts.append(item)
        if len(attempts) < 3:
            raise RuntimeError("not yet")

    workers = asyncio.create_task(run_workers(queue, reconcile, workers=2))
    queue.add("a")
    await settle()
    assert attempts == ["a"]
    clock.advance(0.005)
    await settle()
    clock.advance(0.01)
    await settle()
    assert attempts == ["a", "a", "a"]
    assert queue.num_requeues("a") == 0
    queue.shutdown()
    await asyncio.wait_for(workers, 1)


async def test_run_workers_never_reconciles_one_key_concurrently(
        queue: WorkQueue[str]) -> None:
    running: set[str] = set()
    overlaps: list[str] = []
    finished = 0

    async def reconcile(item: str) -> None:
        nonlocal finished
        if item in running:
            overlaps.append(item)
        running.add(item)
        await asyncio.sleep(0)
        queue.add(item if finished < 20 else "done")
        await asyncio.sleep(0)
        running.discard(item)
        finished += 1

    workers = asyncio.create_task(run_workers(queue, reconcile, workers=4))
    for key in ("a", "b", "a", "c", "a"):
        queue.add(key)
    await settle()
    for _ in range(50):
        await asyncio.sleep(0)
    queue.shutdown()
    await asyncio.wait_for(workers, 1)
    assert overlaps == []
    assert finished >= 20


async def test_run_workers_requeues_after_the_returned_delay(
        queue: WorkQueue[str], clock: FakeClock) -> None:
    seen: list[float] = []

    async def reconcile(item: str) -> float:
        seen.append(clock.now())
        return 30.0

    workers = asyncio.create_task(run_workers(queue, reconcile))
    queue.add("a")
    await settle()
    clock.advance(30)
    await settle()
    assert len(seen) == 2 and seen[1] - seen[0] == 30
    workers.cancel()
    with pytest.raises(asyncio.CancelledError):
        await workers
