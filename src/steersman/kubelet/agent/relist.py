"""One runtime listing shared by every pod worker: the kubelet's PLEG relist, pulled.

A pod worker syncs every ``resync_interval`` and after every change it makes; if each
sync listed the runtime's sandboxes and containers itself, a node with N pods would list
N times a second and read N containers each time — O(N²) work that starves the agent's
event loop at a hundred pods. :class:`RuntimeSnapshots` lists once for all of them:

* :meth:`changed` is called after the agent changes the runtime (a sandbox or container
  created, started, stopped, removed) and returns a *generation*;
* :meth:`views` returns the pod views of a listing that started after that generation and
  is younger than ``max_age`` (1 s, the kubelet's relist period) — joining a listing
  already under way when it qualifies, so concurrent callers share one listing (single
  flight); :meth:`view` of a pod right after its worker changed it reads that pod alone,
  so starting pods costs O(pods) runtime reads, not O(pods²).

A worker therefore always sees its own changes, and sees changes it did not make (a
container that exited) at most ``max_age`` plus its resync interval late.

:class:`TrackingRuntime` wraps the agent's runtime so that nothing needs to remember to
call :meth:`changed`: every mutating call records the change, and the generation in a
context variable of the task that made it — each pod worker is one task (STYLE rule 6), so
``views(after=last_change())`` there means "after my own last change".
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from steersman.client import Clock
from steersman.kubelet.agent import cri
from steersman.kubelet.agent.cri import Runtime
from steersman.kubelet.agent.view import PodView, pod_views
from steersman.kubelet.images import ImageStore

_last_change: contextvars.ContextVar[int] = contextvars.ContextVar("last_runtime_change",
                                                                  default=0)


def last_change() -> int:
    """The generation of the last runtime change the current task made (0: none)."""
    return _last_change.get()


@dataclass(frozen=True)
class _Listing:
    generation: int  # the changes it reflects: all up to this one
    started_at: float
    views: Mapping[str, PodView]


class RuntimeSnapshots:
    """Pod views from a shared, recent runtime listing (see the module docstring)."""

    def __init__(self, runtime: Runtime, *, clock: Clock, max_age: float = 1.0) -> None:
        self._runtime = runtime
        self._clock = clock
        self._max_age = max_age
        self._generation = 0
        self._latest: _Listing | None = None
        self._pending: tuple[int, float, asyncio.Task[_Listing]] | None = None

    def changed(self) -> int:
        """Record a change made to the runtime; listings from now on reflect it."""
        self._generation += 1
        return self._generation

    async def views(self, *, after: int = 0) -> Mapping[str, PodView]:
        """Every pod's view, from a listing that reflects change ``after`` and is recent."""
        while True:
            latest = self._latest
            if latest is not None and self._usable(latest.generation, latest.started_at, after):
                return latest.views
            pending = self._pending
            if pending is None:
                pending = self._start()
            elif not self._usable(pending[0], pending[1], after):
                # One listing at a time: wait for the one under way, then the next one
                # (started by the first waiter to get here) covers every change since.
                await asyncio.wait({pending[2]})
                continue
            return (await asyncio.shield(pending[2])).views

    async def view(self, uid: str, *, after: int = 0) -> PodView:
        """One pod's view. After the caller's own change, before any listing reflects it,
        only that pod is read: a pod starting does not make the node list every pod."""
        latest = self._latest
        if after and (latest is None or latest.generation < after):
            sandboxes = await self._runtime.list_pod_sandboxes(pod_uid=uid)
            containers = await self._runtime.list_containers(pod_uid=uid)
            return pod_views(sandboxes, containers).get(uid) or PodView()
        return (await self.views(after=after)).get(uid) or PodView()

    def _usable(self, generation: int, started_at: float, after: int) -> bool:
        return generation >= after and self._clock.now() - started_at < self._max_age

    def _start(self) -> tuple[int, float, asyncio.Task[_Listing]]:
        generation, started_at = self._generation, self._clock.now()
        task = asyncio.create_task(self._list(generation, started_at))
        self._pending = (generation, started_at, task)
        return self._pending

    async def _list(self, generation: int, started_at: float) -> _Listing:
        try:
            sandboxes = await self._runtime.list_pod_sandboxes()
            containers = await self._runtime.list_containers()
        finally:
            if self._pending is not None and self._pending[2] is asyncio.current_task():
                self._pending = None
        listing = _Listing(generation, started_at, pod_views(sandboxes, containers))
        if self._latest is None or self._latest.started_at <= started_at:
            self._latest = listing
        return listing


class TrackingRuntime:
    """A :class:`~.cri.Runtime` that reports every change it makes to the snapshots."""

    def __init__(self, runtime: Runtime, snapshots: RuntimeSnapshots) -> None:
        self.inner = runtime
        self.name = runtime.name
        self.version = runtime.version
        self.image_store: ImageStore | None = runtime.image_store
        self._snapshots = snapshots

    def _changed(self) -> None:
        _last_change.set(self._snapshots.changed())

    async def run_pod_sandbox(self, config: cri.SandboxConfig) -> str:
        try:
            return await self.inner.run_pod_sandbox(config)
        finally:
            self._changed()

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        try:
            await self.inner.stop_pod_sandbox(sandbox_id)
        finally:
            self._changed()

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        try:
            await self.inner.remove_pod_sandbox(sandbox_id)
        finally:
            self._changed()

    async def list_pod_sandboxes(self, *, pod_uid: str = "") -> list[cri.SandboxStatus]:
        return await self.inner.list_pod_sandboxes(pod_uid=pod_uid)

    async def create_container(self, sandbox_id: str, config: cri.ContainerConfig) -> str:
        try:
            return await self.inner.create_container(sandbox_id, config)
        finally:
            self._changed()

    async def start_container(self, container_id: str) -> None:
        try:
            await self.inner.start_container(container_id)
        finally:
            self._changed()

    async def stop_container(self, container_id: str, timeout: float) -> None:
        try:
            await self.inner.stop_container(container_id, timeout)
        finally:
            self._changed()

    async def remove_container(self, container_id: str) -> None:
        try:
            await self.inner.remove_container(container_id)
        finally:
            self._changed()

    async def list_containers(self, *, pod_uid: str = "") -> list[cri.ContainerStatus]:
        return await self.inner.list_containers(pod_uid=pod_uid)

    async def exec_sync(self, container_id: str, command: Sequence[str],
                        timeout: float) -> cri.ExecResult:
        return await self.inner.exec_sync(container_id, command, timeout)
