"""The scheduling queue: activeQ, backoffQ, unschedulable pods (``scheduling_queue.go``).

* **activeQ** — a heap ordered by the profile's QueueSort plugin (priority, then arrival);
  :meth:`SchedulingQueue.pop` awaits it.
* **backoffQ** — pods that failed, waiting ``initial x 2^(attempts-1)`` seconds (1 s → 10 s
  cap) before they may be retried.
* **unschedulable** — pods no node fitted. A cluster event that might help (node added or
  changed, a pod deleted, …) moves them back — to backoffQ while their back-off lasts, else
  to activeQ; :meth:`flush` also releases any pod parked longer than 5 minutes.

A pod that failed in a cycle during which a move event happened goes straight to backoffQ,
not to the unschedulable set, so an event that raced with its cycle is not lost.
Heaps use lazy deletion: stale entries are skipped when popped.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from steersman.scheduler.clock import Clock
from steersman.scheduler.framework.types import PodInfo

INITIAL_BACKOFF = 1.0
MAX_BACKOFF = 10.0
MAX_UNSCHEDULABLE_DURATION = 300.0
SortKey = Callable[[PodInfo, float], tuple[Any, ...]]


@dataclass(slots=True)
class QueuedPod:
    info: PodInfo
    timestamp: float
    attempts: int = 0
    backoff_until: float = 0.0
    unschedulable_since: float = 0.0
    rejected_by: frozenset[str] = field(default_factory=frozenset)


class SchedulingQueue:
    def __init__(self, *, sort_key: SortKey, clock: Clock,
                 initial_backoff: float = INITIAL_BACKOFF, max_backoff: float = MAX_BACKOFF,
                 max_unschedulable: float = MAX_UNSCHEDULABLE_DURATION) -> None:
        self._sort_key = sort_key
        self._clock = clock
        self._initial_backoff = initial_backoff
        self._max_backoff = max_backoff
        self._max_unschedulable = max_unschedulable
        self._pods: dict[str, QueuedPod] = {}
        self._where: dict[str, str] = {}  # uid → "active" | "backoff" | "unschedulable" | "flight"
        self._active: list[tuple[tuple[Any, ...], int, str]] = []
        self._backoff: list[tuple[float, int, str]] = []
        self._parked: dict[str, QueuedPod] = {}  # the unschedulable pods, for O(parked) moves
        self._seq = itertools.count()
        self._ready = asyncio.Event()
        self._cycle = 0
        self._move_cycle = -1
        self._closed = False

    # Adding and removing ---------------------------------------------------------------

    def add(self, pod: PodInfo) -> None:
        if pod.uid in self._pods:
            self.update(pod)
            return
        self._pods[pod.uid] = QueuedPod(pod, self._clock.now())
        self._to_active(pod.uid)

    def update(self, pod: PodInfo) -> None:
        """A pending pod changed: keep its place, and retry it if it was parked."""
        queued = self._pods.get(pod.uid)
        if queued is None:
            self.add(pod)
            return
        queued.info = pod
        where = self._where.get(pod.uid)
        if where == "active":
            self._to_active(pod.uid)
        elif where == "unschedulable":
            self._release(queued)

    def delete(self, uid: str) -> None:
        self._pods.pop(uid, None)
        self._where.pop(uid, None)
        self._parked.pop(uid, None)

    def __contains__(self, uid: str) -> bool:
        return uid in self._pods

    def __len__(self) -> int:
        return len(self._pods)

    def counts(self) -> dict[str, int]:
        totals = {"active": 0, "backoff": 0, "unschedulable": 0, "flight": 0}
        for where in self._where.values():
            totals[where] += 1
        return totals

    # The cycle ---------------------------------------------------------------------------

    async def pop(self) -> QueuedPod | None:
        """The next pod to schedule; ``None`` once closed."""
        while not self._closed:
            while self._active:
                _, _, uid = heapq.heappop(self._active)
                if self._where.get(uid) == "active":
                    return self._start(uid)
            self._ready.clear()
            await self._ready.wait()
        return None

    def pop_nowait(self) -> QueuedPod | None:
        while self._active:
            _, _, uid = heapq.heappop(self._active)
            if self._where.get(uid) == "active":
                return self._start(uid)
        return None

    def _start(self, uid: str) -> QueuedPod:
        queued = self._pods[uid]
        queued.attempts += 1
        self._where[uid] = "flight"
        self._cycle += 1
        return queued

    @property
    def scheduling_cycle(self) -> int:
        return self._cycle

    def done(self, uid: str) -> None:
        """The pod was scheduled (assumed); the queue forgets it."""
        self.delete(uid)

    def requeue_unschedulable(self, queued: QueuedPod, *, cycle: int,
                              rejected_by: Iterable[str] = ()) -> None:
        if queued.info.uid not in self._pods:
            return  # deleted while in flight
        queued.rejected_by = frozenset(rejected_by)
        self._arm_backoff(queued)
        if self._move_cycle >= cycle:
            self._to_backoff(queued)
        else:
            queued.unschedulable_since = self._clock.now()
            self._where[queued.info.uid] = "unschedulable"
            self._parked[queued.info.uid] = queued

    def requeue_backoff(self, queued: QueuedPod) -> None:
        """After an error (or a failed binding): retry once the back-off passes."""
        if queued.info.uid not in self._pods:
            self._pods[queued.info.uid] = queued
        self._arm_backoff(queued)
        self._to_backoff(queued)

    def move_all(self, *, plugins: frozenset[str] | None = None) -> None:
        """A cluster event: retry parked pods (only those some of ``plugins`` rejected)."""
        self._move_cycle = self._cycle
        for queued in list(self._parked.values()):
            if plugins is None or not queued.rejected_by or queued.rejected_by & plugins:
                self._release(queued)

    def flush(self) -> None:
        """Move finished back-offs to activeQ and long-parked pods back into play."""
        now = self._clock.now()
        while self._backoff and self._backoff[0][0] <= now:
            _, _, uid = heapq.heappop(self._backoff)
            if self._where.get(uid) == "backoff" and self._pods[uid].backoff_until <= now:
                self._to_active(uid)
        for queued in list(self._parked.values()):
            if now - queued.unschedulable_since >= self._max_unschedulable:
                self._release(queued)

    def close(self) -> None:
        self._closed = True
        self._ready.set()

    # Moves -------------------------------------------------------------------------------

    def _arm_backoff(self, queued: QueuedPod) -> None:
        duration = self._initial_backoff * 2 ** max(queued.attempts - 1, 0)
        queued.backoff_until = self._clock.now() + min(duration, self._max_backoff)

    def _release(self, queued: QueuedPod) -> None:
        if queued.backoff_until > self._clock.now():
            self._to_backoff(queued)
        else:
            self._to_active(queued.info.uid)

    def _to_backoff(self, queued: QueuedPod) -> None:
        uid = queued.info.uid
        self._parked.pop(uid, None)
        self._where[uid] = "backoff"
        heapq.heappush(self._backoff, (queued.backoff_until, next(self._seq), uid))

    def _to_active(self, uid: str) -> None:
        queued = self._pods[uid]
        self._parked.pop(uid, None)
        self._where[uid] = "active"
        key = self._sort_key(queued.info, queued.timestamp)
        heapq.heappush(self._active, (key, next(self._seq), uid))
        self._ready.set()
