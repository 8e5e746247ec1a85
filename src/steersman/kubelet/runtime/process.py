"""The ``process`` runtime: a container is a host process group; no root, no image.

Each container's command runs under a detached supervisor
(:mod:`~.supervisor`) as its own process group, so it survives agent restarts; its output
goes to the CRI log and its exit code to the state directory. What a container gets:

* **command**: ``command + args`` exactly; the image is *not used* (no rootfs, no
  entrypoint, no image environment), so ``command`` is required, resolved on the host's
  ``PATH``.
* **environment**: the container's ``env`` plus ``PATH`` (a standard default unless set)
  and ``HOSTNAME`` (the sandbox hostname, else the pod name); nothing is inherited from
  the agent.
* **volumes**: there is no mount namespace, so a volume appears at its *host path*, not at
  ``container_path``; read-only is not enforced. ``working_dir`` is mapped through the
  mounts (a path under a mount's ``container_path`` becomes the same path under its
  ``host_path``), else used as a host path; empty means the sandbox's own directory
  ``<state>/sandboxes/<id>``. A missing directory fails ``create_container``.
* **user**: honoured when the agent is root; otherwise only the agent's own uid is
  accepted (anything else raises :class:`~.interface.Unsupported`).
* **network**: the host's, unless the sandbox names a network namespace (``netns_path``,
  bridge pod networking; root only): the supervisor joins it before it starts the
  command, and ``exec`` runs through ``nsenter --net``.
* **resolv.conf**: a sandbox's ``resolv_conf_path`` (the cluster DNS of a bridge pod;
  root only) is bound over ``/etc/resolv.conf`` in a mount namespace the supervisor makes
  for the command (as ``ip netns exec`` does); ``exec`` does not enter it and sees the
  host's file.
* **resources**: not enforced (no cgroups, and ``RLIMIT_AS`` is not a memory limit), so
  an exceeded memory limit never reports ``OOMKilled``, and pids/cpu limits have no
  effect; ``update_container_resources`` only records the new values. ``version()``
  declares no :class:`~.interface.RuntimeFeature`.
* **stdin**: ``/dev/null``, unless the container has ``stdin``: then a pipe the
  supervisor holds open and feeds from the FIFO ``stdin`` in the container's directory,
  which :meth:`~.base.StateBackedRuntime.attach_stdin` opens for writing (``stdin_once``:
  the pipe closes when the first attach ends; an attach after that is refused).
* **stop**: SIGTERM to the group, SIGKILL after the grace period; when the main process
  exits the rest of its group is killed. ``exec`` runs a host process with the
  container's environment and working directory; it is not in the container's group.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from steersman import __version__
from steersman.kubelet.runtime.base import StateBackedRuntime
from steersman.kubelet.runtime.execstream import pipe_writer, spawn_exec
from steersman.kubelet.runtime.interface import (
    DEFAULT_PATH,
    ContainerConfig,
    CreateError,
    ExecSession,
    InvalidState,
    Resources,
    RuntimeVersion,
    Unsupported,
    User,
)
from steersman.kubelet.runtime.launcher import launch
from steersman.kubelet.runtime.state import ContainerRecord, SandboxRecord, StartRecord, is_alive
from steersman.kubelet.runtime.supervisor import LaunchSpec

STDIN_FIFO = "stdin"  # in the container's directory: what attach writes the stdin into


class ProcessRuntime(StateBackedRuntime):
    """Containers as supervised host process groups (see the module docstring)."""

    async def version(self) -> RuntimeVersion:
        return RuntimeVersion("process", __version__)

    async def _prepare_sandbox(self, record: SandboxRecord) -> None:
        netns = record.config.netns_path
        if netns and os.geteuid() != 0:
            raise Unsupported("joining a pod network namespace needs the agent to run as root")
        if netns and not os.path.exists(netns):  # noqa: ASYNC240 (a stat of /run/netns)
            raise CreateError(f"network namespace {netns} does not exist")
        if record.config.resolv_conf_path and os.geteuid() != 0:
            raise Unsupported("binding a pod's resolv.conf needs the agent to run as root")

    async def _create(self, record: ContainerRecord, sandbox: SandboxRecord) -> None:
        self._launch_spec(record, sandbox)

    async def _start(self, record: ContainerRecord, sandbox: SandboxRecord) -> None:
        spec = self._launch_spec(record, sandbox)
        await launch(self.state.container_dir(record.id), spec)

    async def _signal(self, record: ContainerRecord, start: StartRecord, signum: int) -> None:
        if is_alive(start):
            try:
                os.killpg(start.pid, signum)
            except ProcessLookupError:
                pass

    async def _destroy(self, record: ContainerRecord) -> None:
        """Nothing beyond the state directory, which the caller removes."""

    async def _exec(
        self, record: ContainerRecord, cmd: Sequence[str], *, stdin: bool, tty: bool
    ) -> ExecSession:
        spec = self._launch_spec(record, self.state.load_sandbox(record.sandbox_id))
        if spec.netns_path:
            return await spawn_exec(_in_netns(spec.netns_path, spec.user, cmd), env=spec.env,
                                    cwd=spec.cwd, stdin=stdin, tty=tty)
        return await spawn_exec(
            cmd, env=spec.env, cwd=spec.cwd, stdin=stdin, tty=tty, **_user_options(spec.user)
        )

    async def _attach_stdin(self, record: ContainerRecord) -> asyncio.StreamWriter:
        fifo = self.state.container_dir(record.id) / STDIN_FIFO
        try:  # non-blocking: with no reader (the stdin has closed) this fails, never waits
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as err:
            raise InvalidState(f"container {record.config.name}'s stdin is closed (with "
                               "stdinOnce, the first attach's end closes it): "
                               f"{err.strerror}") from None
        return await pipe_writer(fd)

    async def _update(self, record: ContainerRecord, resources: Resources) -> None:
        """Limits are not enforced by this runtime; the new values are only recorded."""

    def _launch_spec(self, record: ContainerRecord, sandbox: SandboxRecord) -> LaunchSpec:
        config = record.config
        # Without an image there is no entrypoint: like an image whose ENTRYPOINT is empty,
        # `args` alone is the command line (what `kubectl run … -- sh -c …` sends).
        argv = config.command + config.args
        if not argv:
            raise CreateError(
                f"container {config.name!r}: the process runtime does not use images, "
                "so `command` or `args` is required"
            )
        return LaunchSpec(
            argv=argv,
            env=_environment(config, sandbox),
            cwd=self._working_dir(config, sandbox),
            log_path=record.log_path,
            user=_effective_user(config.user),
            netns_path=sandbox.config.netns_path or "",
            resolv_conf_path=sandbox.config.resolv_conf_path or "",
            stdin_fifo=str(self.state.container_dir(record.id) / STDIN_FIFO)
            if config.stdin else "",
            stdin_once=config.stdin_once,
        )

    def _working_dir(self, config: ContainerConfig, sandbox: SandboxRecord) -> str:
        if not config.working_dir:
            return str(self.state.sandbox_dir(sandbox.id))
        path = host_path(config, config.working_dir)
        if not Path(path).is_dir():
            raise CreateError(f"working directory {path} does not exist on this host")
        return path


def host_path(config: ContainerConfig, container_path: str) -> str:
    """Where ``container_path`` is on the host: through the longest matching mount."""
    target = Path(container_path)
    best = None
    for mount in config.mounts:
        root = Path(mount.container_path)
        deeper = best is None or len(root.parts) > len(Path(best.container_path).parts)
        if (target == root or root in target.parents) and deeper:
            best = mount
    if best is None:
        return container_path
    return str(Path(best.host_path) / target.relative_to(best.container_path))


def _environment(config: ContainerConfig, sandbox: SandboxRecord) -> dict[str, str]:
    hostname = sandbox.config.hostname or sandbox.config.name
    return {"PATH": DEFAULT_PATH, "HOSTNAME": hostname, **config.env}


def _effective_user(user: User | None) -> User | None:
    if user is None or os.geteuid() == 0:
        return user
    if user.uid == os.getuid():
        return None  # already that user; switching groups would need root
    raise Unsupported(f"running as uid {user.uid} needs the agent to run as root")


def _in_netns(netns: str, user: User | None, cmd: Sequence[str]) -> list[str]:
    """``cmd`` run by ``nsenter`` inside ``netns``, as ``user`` once there (setns needs root)."""
    nsenter = [shutil.which("nsenter") or "nsenter", f"--net={netns}"]
    if user is not None:
        nsenter += [f"--setuid={user.uid}", f"--setgid={user.gid}"]
    return [*nsenter, "--", *cmd]


def _user_options(user: User | None) -> dict[str, Any]:
    if user is None:
        return {}
    return {"user": user.uid, "group": user.gid, "extra_groups": list(user.supplemental_gids)}
