"""The container runtime protocol (CRI-shaped) that every runtime implements.

The node agent drives pods only through :class:`RuntimeService`: a *sandbox* is the pod's
shared context (network namespace, hostname, a directory), a *container* is one process
tree inside it. Configurations and statuses are frozen dataclasses; identifiers are plain
strings chosen by the runtime. Every method is idempotent by ID where CRI says so (stopping
a stopped container, removing a removed one are no-ops).

Contract highlights, checked by ``tests/conformance/runtime``:

* ``create_container`` records the container (state ``created``); ``start_container``
  runs it; the process outlives the agent (a detached shim records its exit code), so a
  new runtime instance on the same state directory adopts it with the same PID.
* ``stop_container(id, timeout=…)`` sends SIGTERM, waits up to ``timeout`` seconds, then
  SIGKILLs. Exit codes are kept: ``128 + signal`` for a signalled process.
* ``container_status`` reports ``reason`` ``Completed`` (exit 0), ``Error``, ``OOMKilled``
  (non-zero exit with OOM evidence in the container's memory cgroup) or ``StartError``.
* Logs are written to ``ContainerConfig.log_path`` in the CRI format
  (``2026-11-29T05:30:28.123456789Z stdout F line``; ``P`` marks a partial line).

What a runtime cannot do is declared in :attr:`RuntimeVersion.features` and documented on
the implementation; options it cannot honour at all raise :class:`Unsupported`.

Neighbours: ``process.py`` and ``oci.py`` implement it; ``registry.py`` builds one by name.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:  # annotations only: the supervisor imports this module and must start fast
    import asyncio

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class ContainerState(enum.Enum):
    CREATED = "created"
    RUNNING = "running"
    EXITED = "exited"
    UNKNOWN = "unknown"


class SandboxState(enum.Enum):
    READY = "ready"
    NOTREADY = "notready"


class RuntimeFeature(enum.Enum):
    """What an implementation enforces; the conformance suite asserts each one it claims."""

    IMAGES = "images"  # the container's root filesystem is the image rootfs
    ISOLATION = "isolation"  # pid/mount/ipc/uts namespaces, read-only mounts, hostname
    RESOURCE_LIMITS = "resource-limits"  # memory, cpu and pids limits through cgroups
    OOM_DETECTION = "oom-detection"  # an exceeded memory limit reports OOMKilled
    SECCOMP = "seccomp"  # the default seccomp profile applies to unprivileged containers


# --- configuration values -------------------------------------------------------------


@dataclass(frozen=True)
class Mount:
    """A host path made visible at ``container_path``."""

    host_path: str
    container_path: str
    readonly: bool = False


@dataclass(frozen=True)
class User:
    uid: int
    gid: int
    supplemental_gids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Resources:
    """Limits in the units cgroups use; ``None`` means unlimited / runtime default."""

    cpu_shares: int | None = None
    cpu_quota: int | None = None  # microseconds per period
    cpu_period: int | None = None  # microseconds
    memory_limit: int | None = None  # bytes
    pids_limit: int | None = None


@dataclass(frozen=True)
class ImageSpec:
    """The image as resolved by the image service (which owns pulling and unpacking)."""

    image: str  # the reference the user wrote, e.g. ``busybox:1.36``
    image_ref: str = ""  # the resolved digest reference
    rootfs: str = ""  # an unpacked root filesystem directory
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    working_dir: str = ""
    user: str = ""  # the image config's ``User`` (``uid[:gid]`` or ``name[:group]``)


@dataclass(frozen=True)
class PodSandboxConfig:
    name: str
    namespace: str
    uid: str
    attempt: int = 0
    hostname: str = ""
    netns_path: str | None = None  # None: the host network namespace
    resolv_conf_path: str | None = None  # host file bind-mounted at /etc/resolv.conf
    hosts_path: str | None = None  # host file bind-mounted at /etc/hosts
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ContainerConfig:
    name: str
    image: ImageSpec
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    working_dir: str = ""
    user: User | None = None
    mounts: tuple[Mount, ...] = ()
    resources: Resources = field(default_factory=Resources)
    log_path: str = ""  # empty: the runtime picks one under its state directory
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    privileged: bool = False
    readonly_rootfs: bool = False
    attempt: int = 0
    stdin: bool = False  # the runtime holds the main process's stdin open for attach
    stdin_once: bool = False  # … and closes it when the first attach ends

    def argv(self) -> tuple[str, ...]:
        """Kubernetes' rule: ``command`` replaces the entrypoint, ``args`` replace ``cmd``."""
        if self.command:
            return self.command + self.args
        return self.image.entrypoint + (self.args or self.image.cmd)

    def effective_env(self) -> dict[str, str]:
        """The image's environment overridden by the container's; ``PATH`` defaulted."""
        env = {"PATH": DEFAULT_PATH, **self.image.env, **self.env}
        return env

    def effective_working_dir(self) -> str:
        return self.working_dir or self.image.working_dir


# --- filters and statuses ---------------------------------------------------------------


@dataclass(frozen=True)
class SandboxFilter:
    id: str | None = None
    state: SandboxState | None = None
    labels: Mapping[str, str] = field(default_factory=dict)  # all must match


@dataclass(frozen=True)
class ContainerFilter:
    id: str | None = None
    sandbox_id: str | None = None
    state: ContainerState | None = None
    labels: Mapping[str, str] = field(default_factory=dict)  # all must match


@dataclass(frozen=True)
class SandboxStatus:
    id: str
    config: PodSandboxConfig
    state: SandboxState
    created_at: datetime


@dataclass(frozen=True)
class ContainerStatus:
    id: str
    sandbox_id: str
    name: str
    state: ContainerState
    created_at: datetime
    pid: int | None = None
    exit_code: int | None = None
    reason: str = ""  # Completed | Error | OOMKilled | StartError | Unknown
    message: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    log_path: str = ""
    image: str = ""
    image_ref: str = ""
    attempt: int = 0
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RuntimeVersion:
    runtime_name: str  # process | crun | runc
    runtime_version: str
    runtime_api_version: str = "v1"
    features: frozenset[RuntimeFeature] = frozenset()


class ExecResult(NamedTuple):
    exit_code: int
    stdout: bytes
    stderr: bytes


# --- errors: one hierarchy, backends translate into it at their boundary ---------------


class ContainerRuntimeError(Exception):
    """Base of every error a runtime raises on purpose."""


class NotFound(ContainerRuntimeError):
    """No sandbox or container with that ID."""


class InvalidState(ContainerRuntimeError):
    """The verb does not apply in the current state (e.g. starting an exited container)."""


class Unsupported(ContainerRuntimeError):
    """The runtime cannot honour this option; the message says which and why."""


class RuntimeUnavailable(ContainerRuntimeError):
    """A binary or host prerequisite is missing."""


class CreateError(ContainerRuntimeError):
    """The backend refused the container (bad bundle, missing rootfs, …)."""


class StartError(ContainerRuntimeError):
    """The container's process could not be started (command not found, …)."""


class ExecTimeout(ContainerRuntimeError):
    """``exec_sync`` ran past its timeout; the exec'd process was killed."""


# --- the protocols ----------------------------------------------------------------------


class ExecSession(Protocol):
    """A running exec: streams to talk to it, ``wait()`` for its exit code.

    With ``tty`` the process gets a pseudo-terminal: ``stdout`` carries the terminal's
    output and ``stderr`` is ``None``. ``stdin`` is ``None`` unless requested.
    """

    @property
    def stdin(self) -> asyncio.StreamWriter | None: ...

    @property
    def stdout(self) -> asyncio.StreamReader: ...

    @property
    def stderr(self) -> asyncio.StreamReader | None: ...

    async def wait(self) -> int: ...

    def kill(self) -> None: ...

    def resize(self, *, rows: int, cols: int) -> None: ...


class RuntimeService(Protocol):
    async def version(self) -> RuntimeVersion: ...

    async def run_sandbox(self, config: PodSandboxConfig) -> str: ...

    async def stop_sandbox(self, sandbox_id: str) -> None: ...

    async def remove_sandbox(self, sandbox_id: str) -> None: ...

    async def sandbox_status(self, sandbox_id: str) -> SandboxStatus: ...

    async def list_sandboxes(self, flt: SandboxFilter | None = None) -> list[SandboxStatus]: ...

    async def create_container(self, sandbox_id: str, config: ContainerConfig) -> str: ...

    async def start_container(self, container_id: str) -> None: ...

    async def stop_container(self, container_id: str, *, timeout: float) -> None: ...

    async def remove_container(self, container_id: str) -> None: ...

    async def container_status(self, container_id: str) -> ContainerStatus: ...

    async def list_containers(
        self, flt: ContainerFilter | None = None
    ) -> list[ContainerStatus]: ...

    async def exec_sync(
        self, container_id: str, cmd: Sequence[str], *, timeout: float
    ) -> ExecResult: ...

    async def exec(
        self, container_id: str, cmd: Sequence[str], *, stdin: bool = False, tty: bool = False
    ) -> ExecSession: ...

    async def update_container_resources(self, container_id: str, resources: Resources) -> None: ...

    async def rotate_logs(self) -> None:
        """Rotate the running containers' logs that are past the size limit and that their
        writer does not rotate itself (conmon's); the agent calls it periodically."""
        ...

    async def attach_stdin(self, container_id: str) -> asyncio.StreamWriter:
        """A writer into the running main process's stdin (a container created with
        ``stdin``); closing it ends the stdin when the container has ``stdin_once``."""
        ...
