"""One snapshot of the node's and its running containers' resource usage.

:class:`UsageCollector` asks the agent's runtime for its containers (running ones with a
main PID, carrying the kubelet's pod and container labels), then reads each one's usage:
from its own cgroup when it has one (:mod:`.cgroupfs`, the OCI runtimes), else from its
process group (:mod:`.procfs`, the ``process`` runtime). The node's figures come from
``/proc``. The file reads run in a worker thread, off the agent's event loop.

Pod usage is the sum of its containers', as the kubelet reports it from the pod cgroup.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from steersman.kubelet.runtime.cgroups import CgroupMount, cgroup_mounts
from steersman.kubelet.stats.cgroupfs import cgroup_usage, container_cgroup
from steersman.kubelet.stats.procfs import (
    PROC,
    GroupUsage,
    node_cpu_seconds,
    node_memory_working_set,
    process_groups,
)

# The kubelet's well-known CRI labels (``steersman.kubelet.agent.cri`` sets them); named
# here again because the agent imports this package, not the other way round.
POD_NAMESPACE_LABEL = "io.kubernetes.pod.namespace"
POD_NAME_LABEL = "io.kubernetes.pod.name"
CONTAINER_NAME_LABEL = "io.kubernetes.container.name"


class ContainerStatus(Protocol):
    """What is read of a container: the agent's ``cri.ContainerStatus`` has it."""

    @property
    def id(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def pid(self) -> int: ...
    @property
    def created_at(self) -> float: ...
    @property
    def started_at(self) -> float: ...
    @property
    def labels(self) -> Mapping[str, str]: ...


class ContainerLister(Protocol):
    async def list_containers(self) -> Sequence[ContainerStatus]: ...


@dataclass(frozen=True)
class ContainerUsage:
    namespace: str
    pod: str
    container: str
    cpu_seconds: float  # cumulative core-seconds
    memory_bytes: int  # working set
    start_time: float  # seconds since the epoch


@dataclass(frozen=True)
class UsageSnapshot:
    """Everything one scrape reports, read at ``timestamp`` (seconds since the epoch)."""

    timestamp: float
    node_cpu_seconds: float
    node_memory_bytes: int
    containers: tuple[ContainerUsage, ...]

    def pods(self) -> dict[tuple[str, str], GroupUsage]:
        """(namespace, pod) → the sum of its containers' usage."""
        totals: dict[tuple[str, str], GroupUsage] = {}
        for c in self.containers:
            before = totals.get((c.namespace, c.pod), GroupUsage(0.0, 0))
            totals[(c.namespace, c.pod)] = GroupUsage(before.cpu_seconds + c.cpu_seconds,
                                                      before.memory_bytes + c.memory_bytes)
        return totals


class UsageCollector:
    """Reads a :class:`UsageSnapshot` on demand (see the module docstring)."""

    def __init__(self, runtime: ContainerLister, *, proc: Path = PROC,
                 mounts: Callable[[], list[CgroupMount]] = cgroup_mounts,
                 clock: Callable[[], float] = time.time) -> None:
        self._runtime = runtime
        self._proc = proc
        self._mounts = mounts
        self._clock = clock

    async def collect(self) -> UsageSnapshot:
        running = [c for c in await self._runtime.list_containers()
                   if c.state == "running" and c.pid > 0]
        return await asyncio.to_thread(self._read, running)

    def _read(self, running: Sequence[ContainerStatus]) -> UsageSnapshot:
        mounts = self._mounts()
        groups: dict[int, GroupUsage] | None = None
        containers = []
        for status in running:
            cgroup = container_cgroup(status.pid, status.id, mounts, proc=self._proc)
            usage = cgroup_usage(cgroup) if cgroup is not None else None
            if usage is None:
                groups = process_groups(self._proc) if groups is None else groups
                usage = groups.get(status.pid)
            if usage is not None:
                containers.append(_container_usage(status, usage))
        return UsageSnapshot(timestamp=self._clock(),
                             node_cpu_seconds=node_cpu_seconds(self._proc),
                             node_memory_bytes=node_memory_working_set(self._proc),
                             containers=tuple(containers))


def _container_usage(status: ContainerStatus, usage: GroupUsage) -> ContainerUsage:
    return ContainerUsage(namespace=status.labels.get(POD_NAMESPACE_LABEL, ""),
                          pod=status.labels.get(POD_NAME_LABEL, ""),
                          container=status.labels.get(CONTAINER_NAME_LABEL, ""),
                          cpu_seconds=usage.cpu_seconds, memory_bytes=usage.memory_bytes,
                          start_time=status.started_at or status.created_at)
