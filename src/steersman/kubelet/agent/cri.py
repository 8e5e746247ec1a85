"""The container runtime as the agent drives it: CRI's RuntimeService, in Python.

The agent codes against this narrow, CRI-shaped protocol (``cri-api`` ``RuntimeService``:
sandboxes, containers, status, ``ExecSync``); the runtimes of
:mod:`steersman.kubelet.runtime` (process, crun, runc) and the in-memory fake of the tests
implement it. Containers carry the kubelet's labels (:data:`POD_UID_LABEL` & co.) and the
restart count as an annotation, so an agent that restarts finds and adopts them from the
runtime alone. A runtime that runs images (crun, runc) exposes the node's
:class:`~steersman.kubelet.images.ImageStore` as ``image_store``: the agent pulls into it
and passes the resolved ``image_ref``; the process runtime has none and ignores images.

Times are seconds since the epoch (``0.0`` = not yet); ``pid`` is the container's main
process (0 when it has none), published in ``containerID`` so a restart that adopts
containers is visible as "same PIDs".
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from steersman.kubelet.images import ImageStore

POD_UID_LABEL = "io.kubernetes.pod.uid"
POD_NAME_LABEL = "io.kubernetes.pod.name"
POD_NAMESPACE_LABEL = "io.kubernetes.pod.namespace"
CONTAINER_NAME_LABEL = "io.kubernetes.container.name"
RESTART_COUNT_ANNOTATION = "io.kubernetes.container.restartCount"
POD_IP_ANNOTATION = "steersman.io/pod-ip"


class ContainerState(enum.StrEnum):
    CREATED = "created"
    RUNNING = "running"
    EXITED = "exited"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Mount:
    """A volume's host directory or file, seen by the container at ``container_path``."""

    container_path: str
    host_path: str
    read_only: bool = False


@dataclass(frozen=True)
class SandboxConfig:
    """The pod-level environment the containers of one pod share."""

    name: str
    namespace: str
    uid: str
    attempt: int = 0
    hostname: str = ""
    pod_ip: str = ""
    log_directory: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    netns_path: str | None = None  # the pod's network namespace; None: the node's
    resolv_conf_path: str | None = None  # bound at /etc/resolv.conf; None: the node's


@dataclass(frozen=True)
class SandboxStatus:
    id: str
    ready: bool
    created_at: float
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Resources:
    """cgroup limits in the kernel's units; ``None``: unlimited / the runtime's default."""

    cpu_shares: int | None = None
    cpu_quota: int | None = None  # microseconds per period
    cpu_period: int | None = None  # microseconds
    memory_limit: int | None = None  # bytes


@dataclass(frozen=True)
class ContainerConfig:
    """What to run: the expanded command and args, env, mounts and limits of one instance.

    ``image_ref`` is the pulled image (``repo@sha256:…``) when the runtime runs images;
    ``run_as_user`` / ``run_as_group`` (securityContext) override the image's ``User``;
    ``stdin`` / ``stdin_once`` are the spec's ``stdin`` / ``stdinOnce`` (for attach).
    """

    name: str
    image: str
    image_ref: str = ""
    command: Sequence[str] = ()
    args: Sequence[str] = ()
    working_dir: str = ""
    env: Sequence[tuple[str, str]] = ()
    mounts: Sequence[Mount] = ()
    log_path: str = ""
    resources: Resources = field(default_factory=Resources)
    run_as_user: int | None = None
    run_as_group: int | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    stdin: bool = False
    stdin_once: bool = False


@dataclass(frozen=True)
class ContainerStatus:
    id: str
    sandbox_id: str
    state: ContainerState
    created_at: float = 0.0
    started_at: float = 0.0
    finished_at: float = 0.0
    exit_code: int = 0
    reason: str = ""
    message: str = ""
    image: str = ""
    image_ref: str = ""
    pid: int = 0
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.labels.get(CONTAINER_NAME_LABEL, "")

    @property
    def restart_count(self) -> int:
        try:
            return int(self.annotations.get(RESTART_COUNT_ANNOTATION, "0"))
        except ValueError:
            return 0


@dataclass(frozen=True, slots=True)
class ExecResult:
    exit_code: int
    stdout: bytes = b""
    stderr: bytes = b""


class Runtime(Protocol):
    """Sandboxes and containers (CRI's RuntimeService)."""

    name: str
    version: str
    image_store: ImageStore | None  # None: the runtime ignores images (process)

    async def run_pod_sandbox(self, config: SandboxConfig) -> str: ...

    async def stop_pod_sandbox(self, sandbox_id: str) -> None: ...

    async def remove_pod_sandbox(self, sandbox_id: str) -> None: ...

    async def list_pod_sandboxes(self, *, pod_uid: str = "") -> list[SandboxStatus]:
        """Every sandbox, or only those of the pod ``pod_uid``."""
        ...

    async def create_container(self, sandbox_id: str, config: ContainerConfig) -> str: ...

    async def start_container(self, container_id: str) -> None: ...

    async def stop_container(self, container_id: str, timeout: float) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds (0: at once)."""
        ...

    async def remove_container(self, container_id: str) -> None: ...

    async def list_containers(self, *, pod_uid: str = "") -> list[ContainerStatus]:
        """Every container, or only those of the pod ``pod_uid``."""
        ...

    async def exec_sync(self, container_id: str, command: Sequence[str],
                        timeout: float) -> ExecResult: ...
