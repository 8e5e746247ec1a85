"""The controller manager: runs the enabled controllers while it holds the leader Lease.

With leader election (the default), several servers may run a manager each; only the one
holding ``kube-system/kube-controller-manager`` runs controllers, and a standby takes over
within the lease duration when the leader goes away. Informers are created and synced
before any controller starts reconciling, so a controller never acts on a partial cache.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from steersman.client import Client, Clock, SystemClock
from steersman.client.leaderelection import ElectionSettings, run_elected
from steersman.controllers.runtime import InformerFactory, QueueController

log = logging.getLogger(__name__)


def controller_manager_election(*, enabled: bool = True) -> ElectionSettings:
    return ElectionSettings(lease_name="kube-controller-manager", enabled=enabled)


class ControllerManager:
    def __init__(self, client: Client, controllers: Sequence[QueueController], *,
                 election: ElectionSettings | None = None, clock: Clock | None = None) -> None:
        self._client = client
        self._controllers = list(controllers)
        self._election = election or controller_manager_election()
        self._clock = clock or SystemClock()
        self.leading = asyncio.Event()

    async def run(self) -> None:
        await run_elected(self._client, self._election, self._lead,
                          on_stopped_leading=self.leading.clear, clock=self._clock)

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
