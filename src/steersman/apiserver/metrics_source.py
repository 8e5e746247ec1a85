"""Usage rates from scraped samples, as metrics-server computes them, cached briefly.

For each node the source keeps its last two samples. CPU is a rate: the growth of the
cumulative core-seconds between the two samples over the time between them (the
``window``); memory is the latest working set; ``timestamp`` is the latest sample's. A
container that started after the earlier sample is measured from its start with zero
usage (metrics-server does the same), one that restarted in between is left out until the
next sample.

Samples are taken on demand, not on a timer, so an idle cluster costs nothing:

* a sample younger than ``max_age`` answers as it is (``kubectl top`` twice is one
  scrape); concurrent requests for a node share one scrape;
* otherwise the node is scraped again and the previous sample becomes the earlier one,
  unless it is older than ``max_window`` (or there is none): then the node is scraped twice,
  ``first_window`` apart, so the rate describes now, not the last hour.

A failed scrape is remembered for ``max_age`` too, so an unreachable node does not slow
every request by its connect timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from steersman.apiserver.metrics_scrape import ContainerKey, NodeSample, Point, ScrapeError
from steersman.client import Clock, SystemClock

Object = dict[str, Any]
Scrape = Callable[[Object], Awaitable[NodeSample]]


@dataclass(frozen=True)
class Usage:
    cpu_nanocores: int
    memory_bytes: int
    timestamp: float  # epoch seconds of the latest sample
    window: float  # seconds the CPU rate is averaged over


@dataclass(frozen=True)
class NodeUsage:
    node: Usage
    containers: dict[ContainerKey, Usage]


@dataclass
class _NodeState:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    earlier: NodeSample | None = None
    latest: NodeSample | None = None
    taken_at: float = float("-inf")
    failure: ScrapeError | None = None


class MetricsSource:
    """Node and container usage on demand (see the module docstring)."""

    def __init__(self, scrape: Scrape, *, clock: Clock | None = None, max_age: float = 5.0,
                 max_window: float = 90.0, first_window: float = 1.0) -> None:
        self._scrape = scrape
        self._clock = clock or SystemClock()
        self._max_age = max_age
        self._max_window = max_window
        self._first_window = first_window
        self._nodes: dict[str, _NodeState] = {}

    async def usage(self, node: Object) -> NodeUsage:
        """The node's current usage; :class:`ScrapeError` when it cannot be read."""
        state = self._nodes.setdefault(node["metadata"]["name"], _NodeState())
        async with state.lock:
            if self._clock.now() - state.taken_at >= self._max_age:
                await self._refresh(state, node)
            if state.failure is not None:
                raise state.failure
            assert state.earlier is not None and state.latest is not None
            return rates(state.earlier, state.latest)

    async def usages(self, nodes: list[Object]) -> dict[str, NodeUsage | ScrapeError]:
        """Every node's usage or the reason it has none, scraped concurrently."""
        self._prune()
        results = await asyncio.gather(*(self.usage(n) for n in nodes), return_exceptions=True)
        out: dict[str, NodeUsage | ScrapeError] = {}
        for node, result in zip(nodes, results, strict=True):
            if isinstance(result, BaseException) and not isinstance(result, ScrapeError):
                raise result
            out[node["metadata"]["name"]] = result
        return out

    def _prune(self) -> None:
        """Forget nodes not asked about for longer than a window (deleted ones, say)."""
        cutoff = self._clock.now() - self._max_window
        for name in [n for n, s in self._nodes.items() if s.taken_at < cutoff
                     and not s.lock.locked()]:
            del self._nodes[name]

    async def _refresh(self, state: _NodeState, node: Object) -> None:
        stale = self._clock.now() - state.taken_at > self._max_window
        try:
            sample = await self._scrape(node)
            if state.latest is None or state.failure is not None or stale:
                await self._clock.sleep(self._first_window)
                state.earlier, state.latest = sample, await self._scrape(node)
            else:
                state.earlier, state.latest = state.latest, sample
            state.failure = None
        except ScrapeError as err:
            state.failure, state.earlier, state.latest = err, None, None
        state.taken_at = self._clock.now()


def rates(earlier: NodeSample, latest: NodeSample) -> NodeUsage:
    node = _rate(earlier.node, latest.node)
    containers = {}
    for key, point in latest.containers.items():
        usage = _container_rate(earlier.containers.get(key), point, earlier.node.timestamp)
        if usage is not None:
            containers[key] = usage
    return NodeUsage(node or Usage(0, latest.node.memory_bytes, latest.node.timestamp, 0.0),
                     containers)


def _container_rate(before: Point | None, point: Point, earlier_at: float) -> Usage | None:
    if before is not None and before.start_time == point.start_time:
        return _rate(before, point)
    if point.start_time > earlier_at:  # started since the earlier sample: count from 0
        return _rate(Point(0.0, 0, point.start_time, point.start_time), point)
    return None


def _rate(before: Point, after: Point) -> Usage | None:
    window = after.timestamp - before.timestamp
    if window <= 0:
        return None
    cores = max(after.cpu_seconds - before.cpu_seconds, 0.0) / window
    return Usage(cpu_nanocores=round(cores * 1e9), memory_bytes=after.memory_bytes,
                 timestamp=after.timestamp, window=window)
