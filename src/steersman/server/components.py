"""Components that run beside the API server and reach it only through the client.

The controller manager (and later the scheduler) run in the server's process but talk to
the API over loopback HTTPS with the admin kubeconfig, exactly as they would from another
machine (k3s does the same). Each runs as one asyncio task, stopped in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

from steersman.client import Client, load_kubeconfig
from steersman.controllers.manager import ControllerManager, LeaderElection
from steersman.controllers.registry import build_controllers

log = logging.getLogger(__name__)


class Components:
    def __init__(self, kubeconfig: Path, *, controllers: Sequence[str],
                 leader_elect: bool) -> None:
        self._kubeconfig = kubeconfig
        self._controllers = tuple(controllers)
        self._leader_elect = leader_elect
        self._clients: list[Client] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.controller_manager: ControllerManager | None = None

    def _client(self, user_agent: str) -> Client:
        client = Client(load_kubeconfig(self._kubeconfig), qps=500, burst=1000,
                        user_agent=user_agent)
        self._clients.append(client)
        return client

    async def start(self) -> None:
        if self._controllers:
            client = self._client("steersman-controller-manager")
            self.controller_manager = ControllerManager(
                client, build_controllers(client, self._controllers),
                election=LeaderElection(enabled=self._leader_elect))
            self._spawn(self.controller_manager.run(), "controller-manager")

    def _spawn(self, coroutine: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coroutine, name=name)
        task.add_done_callback(_report_exit)
        self._tasks.append(task)

    async def stop(self) -> None:
        for task in reversed(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        for client in self._clients:
            await client.close()
        self._clients.clear()


def _report_exit(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("%s stopped: %s", task.get_name(), task.exception(),
                  exc_info=task.exception())
