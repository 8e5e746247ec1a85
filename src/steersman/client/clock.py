"""Time as a dependency: the :class:`Clock` protocol, the real clock and a fake one for tests.

Everything in :mod:`steersman.client` that waits or reads the time (the rate limiters, the
work queue, the informer's back-off, leader election) takes a ``Clock``, so tests run in
virtual time and never sleep for real.

``now()`` is seconds since the Unix epoch, because leader election writes it into Leases
that other processes compare with their own clocks. :class:`SystemClock` anchors that
reading once to the wall clock and then advances it with the monotonic clock, so intervals
measured with it never jump when the wall clock is stepped.

:class:`FakeClock` only moves when a test calls :meth:`FakeClock.advance`; every
``sleep`` whose deadline has been reached then finishes. Sleepers resume when the event
loop next runs them, so a test yields (``await asyncio.sleep(0)``) after advancing.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Protocol


class Clock(Protocol):
    """What the client needs from time: a reading and a way to wait."""

    def now(self) -> float:
        """Seconds since the Unix epoch."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (at least one pass through the event loop, even for 0)."""
        ...


class SystemClock:
    """The real clock: wall time at construction, advanced by the monotonic clock."""

    def __init__(self) -> None:
        self._wall_at_start = time.time()
        self._monotonic_at_start = time.monotonic()

    def now(self) -> float:
        return self._wall_at_start + (time.monotonic() - self._monotonic_at_start)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))


class FakeClock:
    """Virtual time for tests: sleeps end only when :meth:`advance` passes their deadline."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        wakeup: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._order), wakeup))
        await wakeup

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose deadline has passed."""
        self._now += seconds
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, wakeup = heapq.heappop(self._sleepers)
            if not wakeup.done():
                wakeup.set_result(None)

    @property
    def sleepers(self) -> int:
        """How many sleeps are still waiting (cancelled ones excluded)."""
        return sum(1 for _, _, wakeup in self._sleepers if not wakeup.done())

    def next_deadline(self) -> float | None:
        """The earliest deadline of a waiting sleep, or ``None`` when nothing sleeps."""
        pending = [deadline for deadline, _, wakeup in self._sleepers if not wakeup.done()]
        return min(pending, default=None)
