"""Node agents inside ``steersman up``: the local machine as one or more cluster nodes.

Each agent runs in the server's process and event loop with its own client, runtime state
and data dir (``<data dir>/nodes/<node>``), exactly as ``steersman agent`` would from
another process. Stopping them leaves containers running; the next ``up`` adopts them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from steersman.client import Client, ServerUnreachable, SystemClock, load_kubeconfig
from steersman.kubelet.agent import AgentConfig, NodeAgent
from steersman.kubelet.agent.runtime_adapter import RuntimeAdapter
from steersman.kubelet.runtime.registry import new_runtime

log = logging.getLogger(__name__)


class LocalNodes:
    def __init__(self, kubeconfig: Path, data_dir: Path, *, cluster: str, count: int,
                 runtime: str) -> None:
        self._kubeconfig = kubeconfig
        self._data_dir = data_dir
        self._names = [f"{cluster}-node-{index}" for index in range(count)]
        self._runtime = runtime
        self._clients: list[Client] = []
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def names(self) -> list[str]:
        return list(self._names)

    async def start(self) -> None:
        """Register every node, then run their pod workers in the background."""
        for name in self._names:
            agent = await self._agent(name)
            await agent.register()
            self._tasks.append(asyncio.create_task(agent.run(), name=f"agent-{name}"))

    async def _agent(self, name: str) -> NodeAgent:
        directory = self._data_dir / "nodes" / name
        config = AgentConfig(node_name=name, data_dir=directory)
        runtime = await RuntimeAdapter.open(
            new_runtime(self._runtime, state_dir=directory / "runtime"))
        clock = SystemClock()
        client = Client(load_kubeconfig(self._kubeconfig), clock=clock,
                        user_agent=f"steersman-agent/{name}")
        self._clients.append(client)
        return NodeAgent(client, runtime, config, clock=clock)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, ServerUnreachable):
                await task
        self._tasks.clear()
        for client in self._clients:
            await client.close()
        self._clients.clear()
