"""The agent's :class:`~.cri.Runtime` on top of a real :class:`RuntimeService`.

The agent speaks its own narrow CRI protocol (:mod:`.cri`); the runtimes of
:mod:`steersman.kubelet.runtime` (process, crun, runc) implement the fuller
:class:`~steersman.kubelet.runtime.interface.RuntimeService`. This adapter maps between the
two: configurations (the image becomes an :class:`ImageSpec` with its name and the pulled
``image_ref`` — the runtime resolves rootfs and image config from its ``image_store`` —,
the env pairs a mapping, the limits :class:`Resources`, ``runAsUser``/``runAsGroup`` a
:class:`User`, the restart count the ``attempt``), statuses (``datetime`` → epoch
seconds, ``None`` → ``0``), the container's log directory (created before the
container, as the kubelet does), and errors — stopping or removing what is already gone is a
no-op, a container the runtime refuses to create or start is a
:class:`~.downward.ContainerConfigError` (``CreateContainerError`` / ``RunContainerError``,
the waiting reasons the pod's status shows), and ``exec_sync`` raises
:class:`TimeoutError` on a timeout (what the probe handlers expect) and reports any other
runtime refusal as a failed command.
Labels and annotations pass through unchanged, so adoption after a restart works from the
runtime's state alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from steersman.kubelet.agent import cri
from steersman.kubelet.agent.downward import ContainerConfigError
from steersman.kubelet.images import ImageStore
from steersman.kubelet.runtime import interface as rt
from steersman.kubelet.runtime.base import StateBackedRuntime


class RuntimeAdapter:
    """A :class:`~.cri.Runtime` backed by a runtime service (see the module docstring)."""

    def __init__(self, service: rt.RuntimeService, *, name: str, version: str) -> None:
        self.service = service
        self.name = name
        self.version = version
        self.image_store: ImageStore | None = (
            service.image_store if isinstance(service, StateBackedRuntime) else None)

    @classmethod
    async def open(cls, service: rt.RuntimeService) -> RuntimeAdapter:
        """Wrap ``service``, naming it after what its ``version()`` reports."""
        version = await service.version()
        return cls(service, name=version.runtime_name, version=version.runtime_version)

    # --- sandboxes

    async def run_pod_sandbox(self, config: cri.SandboxConfig) -> str:
        return await self.service.run_sandbox(rt.PodSandboxConfig(
            name=config.name, namespace=config.namespace, uid=config.uid,
            attempt=config.attempt, hostname=config.hostname, labels=dict(config.labels),
            annotations=dict(config.annotations), netns_path=config.netns_path,
            resolv_conf_path=config.resolv_conf_path))

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        try:
            await self.service.stop_sandbox(sandbox_id)
        except rt.NotFound:
            pass

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        try:
            await self.service.remove_sandbox(sandbox_id)
        except rt.NotFound:
            pass

    async def list_pod_sandboxes(self, *, pod_uid: str = "") -> list[cri.SandboxStatus]:
        flt = rt.SandboxFilter(labels={cri.POD_UID_LABEL: pod_uid}) if pod_uid else None
        return [cri.SandboxStatus(
            id=s.id, ready=s.state is rt.SandboxState.READY, created_at=_epoch(s.created_at),
            labels=dict(s.config.labels), annotations=dict(s.config.annotations))
            for s in await self.service.list_sandboxes(flt)]

    # --- containers

    async def create_container(self, sandbox_id: str, config: cri.ContainerConfig) -> str:
        try:
            attempt = int(config.annotations.get(cri.RESTART_COUNT_ANNOTATION, "0"))
        except ValueError:
            attempt = 0
        if config.log_path:
            # As the kubelet does before CreateContainer: the runtime's log writer
            # expects the container's log directory to exist.
            Path(config.log_path).parent.mkdir(parents=True, exist_ok=True)
        try:
            return await self.service.create_container(
                sandbox_id, runtime_config(config, attempt=attempt))
        except (rt.CreateError, rt.StartError, rt.Unsupported) as err:
            raise ContainerConfigError(str(err).strip(), reason="CreateContainerError") from err

    async def start_container(self, container_id: str) -> None:
        try:
            await self.service.start_container(container_id)
        except (rt.StartError, rt.Unsupported) as err:
            raise ContainerConfigError(str(err).strip(), reason="RunContainerError") from err


    async def stop_container(self, container_id: str, timeout: float) -> None:
        try:
            await self.service.stop_container(container_id, timeout=timeout)
        except rt.NotFound:
            pass

    async def remove_container(self, container_id: str) -> None:
        try:
            await self.service.remove_container(container_id)
        except rt.NotFound:
            pass

    async def list_containers(self, *, pod_uid: str = "") -> list[cri.ContainerStatus]:
        flt = rt.ContainerFilter(labels={cri.POD_UID_LABEL: pod_uid}) if pod_uid else None
        return [_container_status(c) for c in await self.service.list_containers(flt)]

    async def exec_sync(self, container_id: str, command: Sequence[str],
                        timeout: float) -> cri.ExecResult:
        try:
            result = await self.service.exec_sync(container_id, command, timeout=timeout)
        except rt.ExecTimeout as err:
            raise TimeoutError(str(err)) from err
        except rt.ContainerRuntimeError as err:
            return cri.ExecResult(-1, b"", (str(err) or type(err).__name__).encode())
        return cri.ExecResult(result.exit_code, result.stdout, result.stderr)


def runtime_config(config: cri.ContainerConfig, *, attempt: int) -> rt.ContainerConfig:
    """The runtime service's config of one instance (restart count ``attempt``)."""
    return rt.ContainerConfig(
        name=config.name, image=rt.ImageSpec(image=config.image, image_ref=config.image_ref),
        command=tuple(config.command), args=tuple(config.args), env=dict(config.env),
        working_dir=config.working_dir, user=_user(config),
        mounts=tuple(rt.Mount(host_path=m.host_path, container_path=m.container_path,
                              readonly=m.read_only) for m in config.mounts),
        resources=_resources(config.resources), log_path=config.log_path,
        labels=dict(config.labels), annotations=dict(config.annotations), attempt=attempt,
        stdin=config.stdin, stdin_once=config.stdin_once)


def _user(config: cri.ContainerConfig) -> rt.User | None:
    """``runAsUser`` (and ``runAsGroup``, else group 0) over the image's ``User``."""
    if config.run_as_user is None:
        return None
    return rt.User(uid=config.run_as_user, gid=config.run_as_group or 0)


def _resources(resources: cri.Resources) -> rt.Resources:
    return rt.Resources(cpu_shares=resources.cpu_shares, cpu_quota=resources.cpu_quota,
                        cpu_period=resources.cpu_period, memory_limit=resources.memory_limit)


def _epoch(moment: datetime | None) -> float:
    return 0.0 if moment is None else moment.timestamp()


def _container_status(status: rt.ContainerStatus) -> cri.ContainerStatus:
    return cri.ContainerStatus(
        id=status.id, sandbox_id=status.sandbox_id, state=cri.ContainerState(status.state.value),
        created_at=_epoch(status.created_at), started_at=_epoch(status.started_at),
        finished_at=_epoch(status.finished_at), exit_code=status.exit_code or 0,
        reason=status.reason, message=status.message, image=status.image,
        image_ref=status.image_ref, pid=status.pid or 0, labels=dict(status.labels),
        annotations=dict(status.annotations))
