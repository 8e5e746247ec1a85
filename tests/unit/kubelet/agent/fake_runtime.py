"""An in-memory runtime implementing the agent's CRI protocol, driven by the test.

Containers "run" until the test calls :meth:`FakeRuntime.exit`; ``exec_sync`` answers
from ``exec_results`` (command tuple → exit code, default 0). Every call is recorded.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace

from steersman.client import Clock
from steersman.kubelet.agent.cri import (
    POD_UID_LABEL,
    ContainerConfig,
    ContainerState,
    ContainerStatus,
    ExecResult,
    SandboxConfig,
    SandboxStatus,
)


class FakeRuntime:
    name = "fake"
    version = "0.1"
    image_store = None  # like the process runtime: images are not used

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._ids = itertools.count(1)
        self.sandboxes: dict[str, SandboxStatus] = {}
        self.containers: dict[str, ContainerStatus] = {}
        self.configs: dict[str, ContainerConfig] = {}
        self.exec_results: dict[tuple[str, ...], int] = {}
        self.calls: list[str] = []

    async def run_pod_sandbox(self, config: SandboxConfig) -> str:
        sandbox_id = f"sb{next(self._ids)}"
        self.calls.append(f"run_pod_sandbox {config.name}")
        self.sandboxes[sandbox_id] = SandboxStatus(sandbox_id, True, self._clock.now(),
                                                   dict(config.labels),
                                                   dict(config.annotations))
        return sandbox_id

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        self.calls.append(f"stop_pod_sandbox {sandbox_id}")
        for container in list(self.containers.values()):
            if container.sandbox_id == sandbox_id:
                self._stop(container.id, 137)
        if sandbox_id in self.sandboxes:
            self.sandboxes[sandbox_id] = replace(self.sandboxes[sandbox_id], ready=False)

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        self.calls.append(f"remove_pod_sandbox {sandbox_id}")
        self.sandboxes.pop(sandbox_id, None)

    async def list_pod_sandboxes(self, *, pod_uid: str = "") -> list[SandboxStatus]:
        return [s for s in self.sandboxes.values()
                if not pod_uid or s.labels.get(POD_UID_LABEL) == pod_uid]

    async def create_container(self, sandbox_id: str, config: ContainerConfig) -> str:
        container_id = f"c{next(self._ids)}"
        self.calls.append(f"create_container {config.name}")
        self.configs[container_id] = config
        self.containers[container_id] = ContainerStatus(
            container_id, sandbox_id, ContainerState.CREATED, created_at=self._clock.now(),
            image=config.image, pid=1000 + len(self.containers), labels=dict(config.labels),
            annotations=dict(config.annotations))
        return container_id

    async def start_container(self, container_id: str) -> None:
        self.calls.append(f"start_container {container_id}")
        self.containers[container_id] = replace(self.containers[container_id],
                                                state=ContainerState.RUNNING,
                                                started_at=self._clock.now())

    async def stop_container(self, container_id: str, timeout: float) -> None:
        self.calls.append(f"stop_container {container_id} {timeout:g}")
        self._stop(container_id, 143)

    async def remove_container(self, container_id: str) -> None:
        self.calls.append(f"remove_container {container_id}")
        self.containers.pop(container_id, None)

    async def list_containers(self, *, pod_uid: str = "") -> list[ContainerStatus]:
        return [c for c in self.containers.values()
                if not pod_uid or c.labels.get(POD_UID_LABEL) == pod_uid]

    async def exec_sync(self, container_id: str, command: Sequence[str],
                        timeout: float) -> ExecResult:
        self.calls.append(f"exec {container_id} {' '.join(command)}")
        return ExecResult(self.exec_results.get(tuple(command), 0))

    def exit(self, container_id: str, code: int, reason: str = "") -> None:
        """The test's way of making a container's process end."""
        self._stop(container_id, code, reason)

    def running(self, name: str) -> list[ContainerStatus]:
        return [c for c in self.containers.values()
                if c.name == name and c.state is ContainerState.RUNNING]

    def _stop(self, container_id: str, code: int, reason: str = "") -> None:
        container = self.containers.get(container_id)
        if container is not None and container.state is ContainerState.RUNNING:
            self.containers[container_id] = replace(
                container, state=ContainerState.EXITED, exit_code=code, reason=reason,
                finished_at=self._clock.now())
