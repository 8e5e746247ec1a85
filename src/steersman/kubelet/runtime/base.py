"""What every runtime shares: sandbox records, container lifecycle order, status assembly.

:class:`StateBackedRuntime` implements :class:`~.interface.RuntimeService` over a
:class:`~.state.StateDir`; a backend fills in the hooks (``_create``, ``_start``,
``_signal``, ``_destroy``, ``_exec``, ``_update``) and may refine ``_exit_reason``,
the sandbox hooks and ``_attach_stdin`` (refused by default: the backend holds no stdin).
Status is derived from the records on disk every time, never cached in memory, which is
what makes a fresh instance on the same directory adopt everything.

Stop is SIGTERM, then up to ``timeout`` seconds for the exit record, then SIGKILL.
"""

from __future__ import annotations

import abc
import asyncio
import os
import secrets
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from steersman.kubelet.runtime.execstream import collect
from steersman.kubelet.runtime.interface import (
    ContainerConfig,
    ContainerFilter,
    ContainerState,
    ContainerStatus,
    ExecResult,
    ExecSession,
    InvalidState,
    PodSandboxConfig,
    Resources,
    RuntimeService,
    RuntimeVersion,
    SandboxFilter,
    SandboxState,
    SandboxStatus,
    Unsupported,
)
from steersman.kubelet.runtime.state import (
    ContainerRecord,
    ExitRecord,
    SandboxRecord,
    StartRecord,
    StateDir,
    is_alive,
    shim_alive,
)

if TYPE_CHECKING:  # the supervisor imports this package and must start fast
    from steersman.kubelet.images import ImageStore

KILL_WAIT = 10.0  # how long a SIGKILLed container may take to be recorded as exited


def new_id() -> str:
    return secrets.token_hex(16)


def now() -> datetime:
    return datetime.now(UTC)


def labels_match(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


class StateBackedRuntime(RuntimeService, abc.ABC):
    image_store: ImageStore | None = None  # where images come from; None: images unused

    def __init__(self, state_dir: str | os.PathLike[str]) -> None:
        self.state = StateDir(state_dir)

    # --- backend hooks

    @abc.abstractmethod
    async def version(self) -> RuntimeVersion: ...

    @abc.abstractmethod
    async def _create(self, record: ContainerRecord, sandbox: SandboxRecord) -> None:
        """Validate and prepare; raise to refuse (the record is then dropped)."""

    @abc.abstractmethod
    async def _start(self, record: ContainerRecord, sandbox: SandboxRecord) -> None:
        """Run the container; ``started.json`` must exist when this returns."""

    @abc.abstractmethod
    async def _signal(self, record: ContainerRecord, start: StartRecord, signum: int) -> None:
        """Deliver ``signum`` to the running container."""

    @abc.abstractmethod
    async def _destroy(self, record: ContainerRecord) -> None:
        """Release backend resources of a container that is not running."""

    @abc.abstractmethod
    async def _exec(
        self, record: ContainerRecord, cmd: Sequence[str], *, stdin: bool, tty: bool
    ) -> ExecSession: ...

    @abc.abstractmethod
    async def _update(self, record: ContainerRecord, resources: Resources) -> None: ...

    async def _attach_stdin(self, record: ContainerRecord) -> asyncio.StreamWriter:
        """A writer into the running container's stdin; refused unless a backend keeps one."""
        name = (await self.version()).runtime_name
        raise Unsupported(f"the {name} runtime does not keep a container's stdin open: "
                          "attach without -i to stream its output")

    async def rotate_logs(self) -> None:
        """Rotate container logs their writer does not rotate (none by default)."""

    async def _prepare_sandbox(self, record: SandboxRecord) -> None:
        """Backend work for a new sandbox (nothing by default)."""

    async def _cleanup_sandbox(self, record: SandboxRecord) -> None:
        """Backend work after a sandbox's containers are gone (nothing by default)."""

    def _read_exit(self, record: ContainerRecord) -> ExitRecord | None:
        return self.state.load_exit(record.id)

    def _exit_reason(self, record: ContainerRecord, exit_record: ExitRecord) -> str:
        if exit_record.reason:
            return exit_record.reason
        return "Completed" if exit_record.exit_code == 0 else "Error"

    # --- sandboxes

    async def run_sandbox(self, config: PodSandboxConfig) -> str:
        record = SandboxRecord(new_id(), config, now())
        self.state.save_sandbox(record)
        try:
            await self._prepare_sandbox(record)
        except BaseException:
            self.state.remove_sandbox(record.id)
            raise
        return record.id

    async def stop_sandbox(self, sandbox_id: str) -> None:
        record = self.state.load_sandbox(sandbox_id)
        for container in self._containers_of(sandbox_id):
            await self.stop_container(container.id, timeout=0)
        if record.state is not SandboxState.NOTREADY:
            self.state.save_sandbox(
                SandboxRecord(record.id, record.config, record.created_at, SandboxState.NOTREADY)
            )

    async def remove_sandbox(self, sandbox_id: str) -> None:
        if sandbox_id not in self.state.sandbox_ids():
            return
        record = self.state.load_sandbox(sandbox_id)
        for container in self._containers_of(sandbox_id):
            await self.remove_container(container.id)
        await self._cleanup_sandbox(record)
        self.state.remove_sandbox(sandbox_id)

    async def sandbox_status(self, sandbox_id: str) -> SandboxStatus:
        record = self.state.load_sandbox(sandbox_id)
        return SandboxStatus(record.id, record.config, record.state, record.created_at)

    async def list_sandboxes(self, flt: SandboxFilter | None = None) -> list[SandboxStatus]:
        flt = flt or SandboxFilter()
        found = [await self.sandbox_status(sid) for sid in self.state.sandbox_ids()]
        return [
            s
            for s in found
            if (flt.id is None or s.id == flt.id)
            and (flt.state is None or s.state is flt.state)
            and labels_match(flt.labels, s.config.labels)
        ]

    # --- containers

    async def create_container(self, sandbox_id: str, config: ContainerConfig) -> str:
        sandbox = self.state.load_sandbox(sandbox_id)
        if sandbox.state is not SandboxState.READY:
            raise InvalidState(f"sandbox {sandbox_id} is not ready")
        container_id = new_id()
        log_path = config.log_path or str(self.state.container_dir(container_id) / "ctr.log")
        record = ContainerRecord(container_id, sandbox_id, config, now(), log_path)
        self.state.save_container(record)
        try:
            await self._create(record, sandbox)
        except BaseException:
            self.state.remove_container(container_id)
            raise
        return container_id

    async def start_container(self, container_id: str) -> None:
        record = self.state.load_container(container_id)
        status = self._status(record)
        if status.state is not ContainerState.CREATED:
            raise InvalidState(f"container {container_id} is {status.state.value}, not created")
        await self._start(record, self.state.load_sandbox(record.sandbox_id))

    async def stop_container(self, container_id: str, *, timeout: float) -> None:
        record = self.state.load_container(container_id)
        start = self.state.load_start(container_id)
        if start is None or self._read_exit(record) is not None:
            return
        if timeout > 0:
            await self._signal(record, start, signal.SIGTERM)
            if await self._wait_exit(record, timeout):
                return
        await self._signal(record, start, signal.SIGKILL)
        await self._wait_exit(record, KILL_WAIT)

    async def remove_container(self, container_id: str) -> None:
        if container_id not in self.state.container_ids():
            return
        await self.stop_container(container_id, timeout=0)
        await self._destroy(self.state.load_container(container_id))
        self.state.remove_container(container_id)

    async def container_status(self, container_id: str) -> ContainerStatus:
        return self._status(self.state.load_container(container_id))

    async def list_containers(self, flt: ContainerFilter | None = None) -> list[ContainerStatus]:
        flt = flt or ContainerFilter()
        # Match on the (cached) records first: a status reads state files and /proc.
        records = (self.state.load_container(c) for c in self.state.container_ids()
                   if flt.id is None or c == flt.id)
        found = [self._status(r) for r in records
                 if (flt.sandbox_id is None or r.sandbox_id == flt.sandbox_id)
                 and labels_match(flt.labels, r.config.labels)]
        return [s for s in found if flt.state is None or s.state is flt.state]

    async def exec_sync(
        self, container_id: str, cmd: Sequence[str], *, timeout: float
    ) -> ExecResult:
        session = await self.exec(container_id, cmd)
        return await collect(session, timeout=timeout)

    async def exec(
        self, container_id: str, cmd: Sequence[str], *, stdin: bool = False, tty: bool = False
    ) -> ExecSession:
        record = self._running(container_id)
        return await self._exec(record, cmd, stdin=stdin, tty=tty)

    async def attach_stdin(self, container_id: str) -> asyncio.StreamWriter:
        record = self._running(container_id)
        if not record.config.stdin:
            raise InvalidState(f"container {record.config.name} was not created with "
                               "stdin: true, so it has no stdin to attach to")
        return await self._attach_stdin(record)

    async def update_container_resources(self, container_id: str, resources: Resources) -> None:
        record = self.state.load_container(container_id)
        if self._status(record).state is ContainerState.RUNNING:
            await self._update(record, resources)
        config = replace(record.config, resources=resources)
        self.state.save_container(replace(record, config=config))

    # --- helpers

    def _running(self, container_id: str) -> ContainerRecord:
        record = self.state.load_container(container_id)
        state = self._status(record).state
        if state is not ContainerState.RUNNING:
            raise InvalidState(f"container {container_id} is {state.value}, not running")
        return record

    def _containers_of(self, sandbox_id: str) -> list[ContainerRecord]:
        records = (self.state.load_container(c) for c in self.state.container_ids())
        return [r for r in records if r.sandbox_id == sandbox_id]

    async def _wait_exit(self, record: ContainerRecord, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        delay = 0.002
        while self._read_exit(record) is None:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)
        return True

    def _status(self, record: ContainerRecord) -> ContainerStatus:
        start = self.state.load_start(record.id)
        exit_record = self._final(record)
        config = record.config
        base = ContainerStatus(
            id=record.id, sandbox_id=record.sandbox_id, name=config.name,
            state=ContainerState.CREATED, created_at=record.created_at,
            log_path=record.log_path, image=config.image.image,
            image_ref=config.image.image_ref or config.image.image, attempt=config.attempt,
            labels=config.labels, annotations=config.annotations,
            started_at=start.started_at if start else None,
        )  # fmt: skip
        if exit_record is not None:
            return _exited(base, exit_record)
        if start is None:
            return base
        if is_alive(start) or shim_alive(start):  # the shim records the exit shortly
            return replace(base, state=ContainerState.RUNNING, pid=start.pid)
        gone = "the container's process and its shim are gone and no exit was recorded"
        return replace(base, state=ContainerState.UNKNOWN, reason="Unknown", message=gone)

    def _final(self, record: ContainerRecord) -> ExitRecord | None:
        """The exit record with its reason, derived once and kept (evidence may vanish)."""
        final = self.state.load_final(record.id)
        if final is not None:
            return final
        exit_record = self._read_exit(record)
        if exit_record is None:
            return None
        start = self.state.load_start(record.id)
        finished_at = exit_record.finished_at  # file times are coarse (a clock tick)
        if start is not None and finished_at < start.started_at:
            finished_at = start.started_at
        reason = self._exit_reason(record, exit_record)
        final = replace(exit_record, finished_at=finished_at, reason=reason)
        self.state.save_final(record.id, final)
        return final


def _exited(base: ContainerStatus, exit_record: ExitRecord) -> ContainerStatus:
    return replace(
        base, state=ContainerState.EXITED, exit_code=exit_record.exit_code,
        reason=exit_record.reason, message=exit_record.message,
        finished_at=exit_record.finished_at,
    )  # fmt: skip
