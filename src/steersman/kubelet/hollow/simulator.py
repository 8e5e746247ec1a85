"""``HollowNodes``: N simulated nodes in one process — register, then beat and run pods.

:meth:`HollowNodes.register` creates (or resumes) every Node and its Lease, at most
``max_in_flight`` requests at a time; :meth:`HollowNodes.run` then runs the
:class:`~steersman.kubelet.hollow.heartbeats.Heartbeats` and the
:class:`~steersman.kubelet.hollow.pods.HollowPods` until cancelled. Cancelling stops the
heartbeats and leaves the Nodes in place — the node lifecycle controller notices the
expired Leases, marks the nodes NotReady and evicts their pods, exactly as when the
process is killed. Nothing here deletes a Node.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from steersman.api.meta import now_rfc3339
from steersman.client import Client, Clock, SystemClock
from steersman.kubelet.hollow.config import HollowConfig
from steersman.kubelet.hollow.heartbeats import Heartbeats
from steersman.kubelet.hollow.pods import HollowPods
from steersman.kubelet.hollow.registration import HollowNode, new_hollow_node, register
from steersman.kubelet.lease import write_lease

T = TypeVar("T")


class HollowNodes:
    """The simulated nodes of one process and the loops that keep them alive."""

    def __init__(self, client: Client, config: HollowConfig, *, clock: Clock | None = None,
                 rng: random.Random | None = None) -> None:
        self._client = client
        self.config = config
        self._clock: Clock = clock or SystemClock()
        self._rng = rng or random.Random()
        self.nodes = [new_hollow_node(config, i, self._rng) for i in range(config.count)]
        self.by_name = {node.name: node for node in self.nodes}
        self.heartbeats = Heartbeats(client, config, self.nodes, clock=self._clock,
                                     rng=self._rng)
        self.pods = HollowPods(client, self.by_name, clock=self._clock,
                               workers=config.max_in_flight)

    async def register(self) -> None:
        """Create or resume every Node, then its Lease."""
        await bounded(self.nodes, self._register_one, limit=self.config.max_in_flight)

    async def run(self) -> None:
        """Keep the registered nodes alive and run their pods, until cancelled."""
        self.heartbeats.spread(self._clock.now())
        async with asyncio.TaskGroup() as group:
            group.create_task(self.heartbeats.run())
            group.create_task(self.pods.run())

    async def _register_one(self, node: HollowNode) -> None:
        now = self._clock.now()
        await register(self._client, self.config, node, now_rfc3339(now))
        await write_lease(self._client, node,
                          duration_seconds=self.config.lease_duration_seconds, now_seconds=now)


async def bounded(items: Iterable[T], action: Callable[[T], Awaitable[None]], *,
                  limit: int) -> None:
    """Run ``action`` on every item, at most ``limit`` at a time; the first error wins."""
    remaining = iter(items)

    async def worker() -> None:
        for item in remaining:
            await action(item)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(limit):
                group.create_task(worker())
    except ExceptionGroup as group_error:
        raise group_error.exceptions[0] from None
