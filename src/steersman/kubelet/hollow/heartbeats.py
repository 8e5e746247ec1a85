"""Heartbeats for every hollow node from one timer heap and a bounded set of requests.

Two beats per node, as kwok and KEP-589 do it:

* **lease** — renew the node's Lease every ``renew_interval`` (10 s, a quarter of the 40 s
  lease) stretched by up to ``renew_jitter`` (4 %); after a failure retry sooner, 0.2 s
  doubling to 7 s (kubelet's lease controller);
* **status** — re-post the node's conditions (heartbeat time now) every
  ``status_interval`` (300 s, kubelet's ``nodeStatusReportFrequency`` for a status that has
  not changed; liveness is the Lease's job) plus up to ``status_jitter`` of it.

The first beat of each node is drawn uniformly over one interval, so N nodes make a steady
N/10 lease writes per second instead of bursts. One loop pops the beats that are due and
runs each as a task while holding one of ``max_in_flight`` slots: when the server slows
down, beats queue here instead of piling up as open requests. Failures are counted and
summarised in the log every ``_REPORT_EVERY`` seconds, not logged once per node.
"""

from __future__ import annotations

import asyncio
import enum
import heapq
import itertools
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass

from steersman.api.errors import StatusError
from steersman.api.meta import now_rfc3339
from steersman.client import NODES, Client, Clock, PatchType, ServerUnreachable
from steersman.kubelet.hollow.config import HollowConfig
from steersman.kubelet.hollow.registration import HollowNode
from steersman.kubelet.lease import write_lease
from steersman.kubelet.node_status import heartbeat_patch

log = logging.getLogger(__name__)

_MIN_TICK, _MAX_TICK = 0.02, 0.5
_LEASE_RETRY_BASE, _LEASE_RETRY_CAP = 0.2, 7.0
_REPORT_EVERY = 10.0


class Beat(enum.Enum):
    LEASE = "lease"
    STATUS = "status"


@dataclass(frozen=True, slots=True)
class Due:
    """One beat of one node (by index) that is due at ``at``."""

    at: float
    kind: Beat
    node: int


class BeatSchedule:
    """A heap of pending beats, earliest first."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Beat, int]] = []
        self._order = itertools.count()

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, due: Due) -> None:
        heapq.heappush(self._heap, (due.at, next(self._order), due.kind, due.node))

    def next_at(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> list[Due]:
        """Every beat due at or before ``now``, earliest first."""
        due: list[Due] = []
        while self._heap and self._heap[0][0] <= now:
            at, _, kind, node = heapq.heappop(self._heap)
            due.append(Due(at, kind, node))
        return due


def jittered(period: float, factor: float, rng: random.Random) -> float:
    """``period`` stretched by up to ``factor`` of itself (client-go ``wait.Jitter``)."""
    return period * (1.0 + rng.random() * factor) if factor > 0 else period


def lease_retry_delay(failures: int) -> float:
    """Back-off after ``failures`` consecutive failed renewals: 0.2 s doubling to 7 s."""
    return min(_LEASE_RETRY_BASE * 2.0 ** max(failures - 1, 0), _LEASE_RETRY_CAP)


class Heartbeats:
    """Renews the Leases and refreshes the status of ``nodes`` until cancelled."""

    def __init__(self, client: Client, config: HollowConfig, nodes: Sequence[HollowNode], *,
                 clock: Clock, rng: random.Random) -> None:
        self._client = client
        self._config = config
        self._nodes = nodes
        self._clock = clock
        self._rng = rng
        self._schedule = BeatSchedule()
        self._slots = asyncio.Semaphore(config.max_in_flight)
        self._running: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._sleeping_until = float("inf")
        self._failures = 0
        self._last_error = ""
        self.lease_writes = 0
        self.status_writes = 0

    def spread(self, now: float) -> None:
        """Schedule every node's first beats uniformly over one interval from ``now``."""
        for index in range(len(self._nodes)):
            self._schedule.push(Due(now + self._rng.uniform(0, self._config.renew_interval),
                                    Beat.LEASE, index))
            self._schedule.push(Due(now + self._rng.uniform(0, self._config.status_interval),
                                    Beat.STATUS, index))

    async def run(self) -> None:
        """Dispatch due beats until cancelled; cancelling stops the beats in flight too."""
        reported = self._clock.now()
        try:
            while True:
                now = self._clock.now()
                for due in self._schedule.pop_due(now):
                    await self._slots.acquire()
                    self._start(due)
                if now - reported >= _REPORT_EVERY:
                    self._report()
                    reported = now
                await self._sleep(self._tick(now))
        finally:
            for task in list(self._running):
                task.cancel()

    def _tick(self, now: float) -> float:
        next_at = self._schedule.next_at()
        wait = _MAX_TICK if next_at is None else next_at - now
        return min(max(wait, _MIN_TICK), _MAX_TICK)

    async def _sleep(self, seconds: float) -> None:
        """Sleep ``seconds``, or less if a beat falls due earlier meanwhile."""
        self._wake.clear()
        self._sleeping_until = self._clock.now() + seconds
        sleeper = asyncio.ensure_future(self._clock.sleep(seconds))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waker.cancel()

    def _push(self, due: Due) -> None:
        self._schedule.push(due)
        if due.at < self._sleeping_until:
            self._wake.set()

    def _start(self, due: Due) -> None:
        task = asyncio.create_task(self._beat(due))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _beat(self, due: Due) -> None:
        node = self._nodes[due.node]
        try:
            delay = await (self._renew(node) if due.kind is Beat.LEASE else self._post(node))
        except Exception:  # a bug must not silence this node's heartbeat for good
            log.exception("%s beat of %s failed", due.kind.value, node.name)
            delay = self._config.renew_interval
        finally:
            self._slots.release()
        self._push(Due(self._clock.now() + delay, due.kind, due.node))

    async def _renew(self, node: HollowNode) -> float:
        config = self._config
        try:
            await write_lease(self._client, node, duration_seconds=config.lease_duration_seconds,
                              now_seconds=self._clock.now())
        except (StatusError, ServerUnreachable) as err:
            node.lease_failures += 1
            self._failed(node, "lease", err)
            return lease_retry_delay(node.lease_failures)
        node.lease_failures = 0
        self.lease_writes += 1
        return jittered(config.renew_interval, config.renew_jitter, self._rng)

    async def _post(self, node: HollowNode) -> float:
        config = self._config
        patch = heartbeat_patch(now_rfc3339(self._clock.now()), node.ready_since)
        try:
            await self._client.patch(NODES, node.name, patch, patch_type=PatchType.MERGE,
                                     subresource="status")
        except (StatusError, ServerUnreachable) as err:
            self._failed(node, "status", err)
            return config.renew_interval
        self.status_writes += 1
        return jittered(config.status_interval, config.status_jitter, self._rng)

    def _failed(self, node: HollowNode, what: str, err: Exception) -> None:
        self._failures += 1
        self._last_error = f"{what} of {node.name}: {err}"
        log.debug("%s", self._last_error)

    def _report(self) -> None:
        if self._failures:
            log.warning("%d heartbeat writes failed in the last %.0f s; last: %s",
                        self._failures, _REPORT_EVERY, self._last_error)
            self._failures = 0
