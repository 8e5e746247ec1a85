"""A work queue of keys with Kubernetes semantics, and the worker loop that drains it.

Contract (client-go ``util/workqueue``), for items that are hashable (usually ``"ns/name"``):

* **dedup** — an item added while it waits is queued once;
* **exclusivity** — an item handed out by :meth:`WorkQueue.get` is not handed out again
  until :meth:`WorkQueue.done`; if it was added meanwhile it is queued again on ``done``,
  so the change that came in during processing is never lost;
* **delays** — :meth:`WorkQueue.add_after` queues an item once its delay has passed (the
  earliest of several pending delays wins); :meth:`WorkQueue.add_rate_limited` asks the
  per-item rate limiter for the delay, :meth:`WorkQueue.forget` resets it;
* **shutdown** — later adds are ignored, pending delays are dropped, items already queued
  are still handed out, then :meth:`WorkQueue.get` raises :class:`QueueShutDown`.

All waiting goes through the injected :class:`~steersman.client.clock.Clock`.
:func:`run_workers` is the controller loop: get → reconcile → done, with a rate-limited
requeue when reconcile raises and ``forget`` when it succeeds (rule 3 of STYLE.md: handlers
only enqueue keys, reconcilers re-read state).
"""

from __future__ import annotations

import asyncio
import collections
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from steersman.client.clock import Clock, SystemClock
from steersman.client.ratelimit import ItemRateLimiter, default_controller_rate_limiter

log = logging.getLogger(__name__)

T = TypeVar("T", bound=Hashable)


class QueueShutDown(Exception):
    """The queue was shut down and holds nothing more to hand out."""


class WorkQueue(Generic[T]):
    """A deduplicating, rate-limited, delaying queue of keys."""

    def __init__(self, *, clock: Clock | None = None,
                 rate_limiter: ItemRateLimiter | None = None) -> None:
        self._clock: Clock = clock or SystemClock()
        self._rate_limiter = rate_limiter or default_controller_rate_limiter(self._clock)
        self._queue: collections.deque[T] = collections.deque()
        self._dirty: set[T] = set()
        self._processing: set[T] = set()
        self._waiting: dict[T, tuple[float, int]] = {}
        self._timers: list[tuple[float, int, T]] = []
        self._order = itertools.count()
        self._wakeup: asyncio.Future[None] | None = None
        self._shutting_down = False

    def __len__(self) -> int:
        """Items ready to be handed out (delayed ones are not counted)."""
        return len(self._queue)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def add(self, item: T) -> None:
        """Queue ``item`` unless it is already queued; defer it if it is being processed."""
        if self._shutting_down or item in self._dirty:
            return
        self._dirty.add(item)
        if item not in self._processing:
            self._queue.append(item)
            self._notify()

    def add_after(self, item: T, delay: float) -> None:
        """Queue ``item`` once ``delay`` seconds have passed; an earlier pending delay wins."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(item)
            return
        ready_at = self._clock.now() + delay
        pending = self._waiting.get(item)
        if pending is not None and pending[0] <= ready_at:
            return
        sequence = next(self._order)
        self._waiting[item] = (ready_at, sequence)
        heapq.heappush(self._timers, (ready_at, sequence, item))
        self._notify()

    def add_rate_limited(self, item: T) -> None:
        """Queue ``item`` after the delay its rate limiter gives for one more failure."""
        self.add_after(item, self._rate_limiter.when(item))

    def forget(self, item: T) -> None:
        """``item`` succeeded: reset its back-off."""
        self._rate_limiter.forget(item)

    def num_requeues(self, item: T) -> int:
        return self._rate_limiter.retries(item)

    def done(self, item: T) -> None:
        """Processing of ``item`` has finished; requeue it if it was added meanwhile."""
        self._processing.discard(item)
        if item in self._dirty:
            self._queue.append(item)
            self._notify()

    def shutdown(self) -> None:
        """Stop accepting items and wake every waiting :meth:`get`."""
        self._shutting_down = True
        self._waiting.clear()
        self._timers.clear()
        self._notify()

    def get_nowait(self) -> T:
        """The next ready item; ``asyncio.QueueEmpty`` if none, ``QueueShutDown`` if done."""
        self._promote_due()
        if self._queue:
            item = self._queue.popleft()
            self._processing.add(item)
            self._dirty.discard(item)
            return item
        if self._shutting_down:
            raise QueueShutDown()
        raise asyncio.QueueEmpty()

    async def get(self) -> T:
        """Wait for the next ready item and mark it as being processed."""
        while True:
            try:
                return self.get_nowait()
            except asyncio.QueueEmpty:
                await self._wait_for_change()

    def _promote_due(self) -> None:
        now = self._clock.now()
        while self._timers and self._timers[0][0] <= now:
            ready_at, sequence, item = heapq.heappop(self._timers)
            if self._waiting.get(item) == (ready_at, sequence):
                del self._waiting[item]
                self.add(item)

    def _next_delay(self) -> float | None:
        while self._timers and self._waiting.get(self._timers[0][2]) != self._timers[0][:2]:
            heapq.heappop(self._timers)  # superseded by an earlier delay for the same item
        if not self._timers:
            return None
        return max(self._timers[0][0] - self._clock.now(), 0.0)

    async def _wait_for_change(self) -> None:
        if self._wakeup is None:
            self._wakeup = asyncio.get_running_loop().create_future()
        waiters: set[asyncio.Future[None]] = {self._wakeup}
        delay = self._next_delay()
        timer = None if delay is None else asyncio.ensure_future(self._clock.sleep(delay))
        if timer is not None:
            waiters.add(timer)
        try:
            # asyncio.wait leaves the shared wake-up future alone if this getter is cancelled.
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if timer is not None:
                timer.cancel()

    def _notify(self) -> None:
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)
        self._wakeup = None


Reconcile = Callable[[T], Awaitable[float | None]]


async def run_workers(queue: WorkQueue[T], reconcile: Reconcile[T], *, workers: int = 1) -> None:
    """Run ``workers`` loops of get → reconcile → done until the queue shuts down.

    ``reconcile(item)`` may return seconds after which the item is reconciled again (a
    periodic re-check); it raises to ask for a rate-limited retry. Cancel the returned
    coroutine's task to stop the workers at once.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    async with asyncio.TaskGroup() as group:
        for _ in range(workers):
            group.create_task(_work(queue, reconcile))


async def _work(queue: WorkQueue[T], reconcile: Reconcile[T]) -> None:
    while True:
        try:
            item = await queue.get()
        except QueueShutDown:
            return
        try:
            await _process(queue, reconcile, item)
        finally:
            queue.done(item)


async def _process(queue: WorkQueue[T], reconcile: Reconcile[T], item: T) -> None:
    try:
        requeue_after = await reconcile(item)
    except Exception:
        log.exception("reconciling %r failed (retry %d)", item, queue.num_requeues(item) + 1)
        queue.add_rate_limited(item)
        return
    queue.forget(item)
    if requeue_after is not None:
        queue.add_after(item, requeue_after)
