"""The controller manager: runs the enabled controllers while it holds the leader Lease.

With leader election (the default), several servers may run a manager each; only the one
holding ``kube-system/kube-controller-manager`` runs controllers, and a standby takes over
within the lease duration when the leader goes away. Informers are created and synced
before any controller starts reconciling, so a controller never acts on a partial cache.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from steersman.client import Client, Clock, LeaderElector, SystemClock
from steersman.controllers.runtime import InformerFactory, QueueController

log = logging.getLogger(__name__)


def default_identity() -> str:
    return f"{socket.gethostname()}_{os.getpid()}_{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class LeaderElection:
    enabled: bool = True
    lease_name: str = "kube-controller-manager"
    lease_namespace: str = "kube-system"
    identity: str = field(default_factory=default_identity)
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0


class ControllerManager:
    def __init__(self, client: Client, controllers: Sequence[QueueController], *,
                 election: LeaderElection | None = None, clock: Clock | None = None) -> None:
        self._client = client
        self._controllers = list(controllers)
        self._election = election or LeaderElection()
        self._clock = clock or SystemClock()
        self.leading = asyncio.Event()

    async def run(self) -> None:
        if not self._election.enabled:
            await self._lead()
            return
        election = self._election
        while True:
            elector = LeaderElector(
                self._client, name=election.lease_name, namespace=election.lease_namespace,
                identity=election.identity, on_started_leading=self._lead,
                on_stopped_leading=self.leading.clear, lease_duration=election.lease_duration,
                renew_deadline=election.renew_deadline, retry_period=election.retry_period,
                clock=self._clock)
            await elector.run()
            log.warning("%s lost leadership; standing for election again",
                        election.lease_name)

    async def _lead(self) -> None:
        factory = InformerFactory(self._client, clock=self._clock)
        for controller in self._controllers:
            controller.start_term()
            controller.setup(factory)
        factory.start()
        try:
            await factory.wait_synced()
            self.leading.set()
            log.info("controllers started: %s", ", ".join(c.name for c in self._controllers))
            async with asyncio.TaskGroup() as group:
                for controller in self._controllers:
                    group.create_task(controller.run(), name=f"controller-{controller.name}")
                # Leading lasts until cancelled, even if every controller has stopped:
                # returning would hand the Lease straight back.
                group.create_task(asyncio.Event().wait(), name="hold-leadership")
        finally:
            self.leading.clear()
            await factory.stop()
