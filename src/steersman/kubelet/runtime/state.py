"""The runtime's state directory: everything needed to adopt containers after a restart.

Layout (one JSON record per fact, each written atomically, each written once)::

    <root>/sandboxes/<sandbox-id>/sandbox.json   SandboxRecord (state rewritten on stop)
    <root>/containers/<container-id>/
        container.json   ContainerRecord — written by create_container
        started.json     StartRecord — the container's PID, written when it started
        exit.json        ExitRecord — written by the shim that outlives the agent
        reason.json      ExitRecord with the final reason, derived once (e.g. OOMKilled)
        …                backend files (the OCI bundle, shim logs, conmon's exit dir)

A new runtime instance on the same root reads these and sees the same containers, the same
PIDs and, later, their exit codes. :class:`StateDir` keeps what it decoded, keyed by the
file's inode, size and mtime, so a listing of N containers costs N ``stat`` calls, not N
JSON decodes (the agent lists the runtime every second). :func:`process_start_ticks`
guards PIDs against reuse. This module stays light (stdlib and orjson) because the
detached supervisor imports it.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import orjson

from steersman.kubelet.runtime.codec import decode, encode
from steersman.kubelet.runtime.interface import (
    ContainerConfig,
    NotFound,
    PodSandboxConfig,
    SandboxState,
)

T = TypeVar("T")


@dataclass(frozen=True)
class SandboxRecord:
    id: str
    config: PodSandboxConfig
    created_at: datetime
    state: SandboxState = SandboxState.READY


@dataclass(frozen=True)
class ContainerRecord:
    id: str
    sandbox_id: str
    config: ContainerConfig
    created_at: datetime
    log_path: str


@dataclass(frozen=True)
class StartRecord:
    pid: int
    started_at: datetime
    pid_start_ticks: int  # field 22 of /proc/<pid>/stat: tells a reused PID apart
    shim_pid: int = 0  # the supervisor or conmon that will record the exit
    shim_start_ticks: int = 0


@dataclass(frozen=True)
class ExitRecord:
    exit_code: int
    finished_at: datetime
    signal: int | None = None
    reason: str = ""  # set by whoever knows better than the exit code (StartError, OOMKilled)
    message: str = ""


def write_json(path: Path, value: object) -> None:
    """Write atomically: readers see the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(orjson.dumps(encode(value)))
    os.replace(tmp, path)


def read_json(path: Path, cls: type[T]) -> T | None:
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    return decode(cls, data)


def process_start_ticks(pid: int) -> int | None:
    """The start time of ``pid`` in clock ticks since boot, or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):  # a zombie has exited already
        return None
    return int(fields[19])


def is_alive(start: StartRecord) -> bool:
    return process_start_ticks(start.pid) == start.pid_start_ticks


def shim_alive(start: StartRecord) -> bool:
    return start.shim_pid > 0 and process_start_ticks(start.shim_pid) == start.shim_start_ticks


class StateDir:
    """Paths and records under one runtime's state root."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.containers = self.root / "containers"
        self.sandboxes = self.root / "sandboxes"
        self.containers.mkdir(parents=True, exist_ok=True)
        self.sandboxes.mkdir(parents=True, exist_ok=True)
        self._decoded: dict[Path, tuple[tuple[int, int, int], object]] = {}

    def _read(self, path: Path, cls: type[T]) -> T | None:
        """``read_json``, reusing the last decode while the file is unchanged."""
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            self._decoded.pop(path, None)
            return None
        version = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        cached = self._decoded.get(path)
        if cached is not None and cached[0] == version and isinstance(cached[1], cls):
            return cached[1]
        record = read_json(path, cls)
        if record is not None:
            self._decoded[path] = (version, record)
        return record

    def _forget(self, directory: Path) -> None:
        for path in [p for p in self._decoded if p.parent == directory]:
            del self._decoded[path]

    # --- sandboxes

    def sandbox_dir(self, sandbox_id: str) -> Path:
        return self.sandboxes / sandbox_id

    def save_sandbox(self, record: SandboxRecord) -> None:
        self.sandbox_dir(record.id).mkdir(exist_ok=True)
        write_json(self.sandbox_dir(record.id) / "sandbox.json", record)

    def load_sandbox(self, sandbox_id: str) -> SandboxRecord:
        record = self._read(self.sandbox_dir(sandbox_id) / "sandbox.json", SandboxRecord)
        if record is None:
            raise NotFound(f"sandbox {sandbox_id!r} not found")
        return record

    def sandbox_ids(self) -> list[str]:
        return sorted(p.name for p in self.sandboxes.iterdir() if (p / "sandbox.json").exists())

    def remove_sandbox(self, sandbox_id: str) -> None:
        shutil.rmtree(self.sandbox_dir(sandbox_id), ignore_errors=True)
        self._forget(self.sandbox_dir(sandbox_id))

    # --- containers

    def container_dir(self, container_id: str) -> Path:
        return self.containers / container_id

    def save_container(self, record: ContainerRecord) -> None:
        self.container_dir(record.id).mkdir(exist_ok=True)
        write_json(self.container_dir(record.id) / "container.json", record)

    def load_container(self, container_id: str) -> ContainerRecord:
        path = self.container_dir(container_id) / "container.json"
        record = self._read(path, ContainerRecord) if "/" not in container_id else None
        if record is None:
            raise NotFound(f"container {container_id!r} not found")
        return record

    def container_ids(self) -> list[str]:
        return sorted(p.name for p in self.containers.iterdir() if (p / "container.json").exists())

    def load_start(self, container_id: str) -> StartRecord | None:
        return self._read(self.container_dir(container_id) / "started.json", StartRecord)

    def save_start(self, container_id: str, record: StartRecord) -> None:
        write_json(self.container_dir(container_id) / "started.json", record)

    def load_exit(self, container_id: str) -> ExitRecord | None:
        return self._read(self.container_dir(container_id) / "exit.json", ExitRecord)

    def save_exit(self, container_id: str, record: ExitRecord) -> None:
        write_json(self.container_dir(container_id) / "exit.json", record)

    def load_final(self, container_id: str) -> ExitRecord | None:
        return self._read(self.container_dir(container_id) / "reason.json", ExitRecord)

    def save_final(self, container_id: str, record: ExitRecord) -> None:
        write_json(self.container_dir(container_id) / "reason.json", record)

    def remove_container(self, container_id: str) -> None:
        shutil.rmtree(self.container_dir(container_id), ignore_errors=True)
        self._forget(self.container_dir(container_id))
