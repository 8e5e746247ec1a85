"""The ``crun`` / ``runc`` runtimes: real OCI containers from bundles the agent builds.

``OciRuntime(state_dir, binary="crun"|"runc")`` needs root. Per container it writes
``<state>/containers/<id>/bundle/config.json`` (:mod:`.ocispec`) around the rootfs the
image service unpacked, and hands the container to a shim that outlives the agent
(:mod:`.shim`: conmon when installed, else the Python supervisor running ``<binary> run``).
The OCI runtime's own state lives in ``<state>/<binary>-root`` (``--root``), so a new
instance on the same state directory sees the same containers.

* cgroups: ``linux.cgroupsPath`` is ``<cgroup_parent>/<pod uid>/<container id>``
  (default parent ``/steersman``); removal deletes the container's cgroup in every
  hierarchy and then the parents left empty. On a hybrid cgroup host crun needs
  :func:`~.cgroups.ensure_crun_compatible` (applied once, before the first container);
  runc does not.
* exit codes come from the shim (``128 + N`` for a container killed by signal N); a
  non-zero exit with OOM evidence (conmon's ``oom`` file or the memory cgroup's
  ``oom_kill`` counter) is reported as ``OOMKilled``.
* logs: conmon writes them without rotating; :meth:`OciRuntime.rotate_logs` (which the
  agent calls periodically) rotates each running container's log past ``log_max_bytes``,
  keeping ``log_max_files`` files (the supervisor shim's writer rotates by itself).
* stdin (``kubectl attach -i``): under conmon, a container with ``stdin`` reads what
  attach sends through conmon's attach socket (:mod:`.conmon_attach`); the supervisor
  shim keeps no stdin and refuses.
* stop is ``<binary> kill ID TERM`` then ``KILL``; exec is ``<binary> exec`` (with
  ``--pid-file``, so a timed-out exec can be killed inside the container).
* images: with an ``image_store`` (the node's :class:`~steersman.kubelet.images.ImageStore`),
  a container whose :class:`ImageSpec` names no ``rootfs`` gets its own rootfs over the
  pulled image's layers and the image config (:mod:`.image_rootfs`); removal releases it.
  The image must already be in the store: pulling is the agent's job.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from steersman.kubelet.runtime import cgroups
from steersman.kubelet.runtime.base import StateBackedRuntime, new_id, now
from steersman.kubelet.runtime.crilog import MAX_BYTES, MAX_FILES
from steersman.kubelet.runtime.execstream import kill_pid_file, spawn_console_exec, spawn_exec
from steersman.kubelet.runtime.image_rootfs import image_user, release_image, resolve_image
from steersman.kubelet.runtime.interface import (
    ContainerConfig,
    ContainerRuntimeError,
    ContainerState,
    ExecSession,
    NotFound,
    Resources,
    RuntimeFeature,
    RuntimeUnavailable,
    RuntimeVersion,
    StartError,
)
from steersman.kubelet.runtime.ocispec import build_spec, hostname, resources_section
from steersman.kubelet.runtime.shim import ConmonShim, OciShim, SupervisorShim
from steersman.kubelet.runtime.state import (
    ContainerRecord,
    ExitRecord,
    SandboxRecord,
    StartRecord,
    process_start_ticks,
    write_json,
)

if TYPE_CHECKING:
    from steersman.kubelet.images import ImageStore

DEFAULT_CGROUP_PARENT = "/steersman"
FEATURES = frozenset(RuntimeFeature)


class OciRuntime(StateBackedRuntime):
    """crun or runc behind :class:`~.interface.RuntimeService` (see the module docstring)."""

    def __init__(
        self,
        state_dir: str | os.PathLike[str],
        *,
        binary: str = "crun",
        cgroup_parent: str = DEFAULT_CGROUP_PARENT,
        use_conmon: bool = True,
        image_store: ImageStore | None = None,
        log_max_bytes: int = MAX_BYTES,
        log_max_files: int = MAX_FILES,
    ) -> None:
        super().__init__(state_dir)
        self.image_store = image_store
        self.log_max_bytes, self.log_max_files = log_max_bytes, log_max_files
        path = shutil.which(binary)
        if path is None:
            raise RuntimeUnavailable(f"{binary} is not installed")
        if os.geteuid() != 0:
            raise RuntimeUnavailable(f"the {binary} runtime needs root; use --runtime process")
        self.name = os.path.basename(binary)
        self.cgroup_parent = cgroup_parent
        root = self.state.root / f"{self.name}-root"
        self._runtime = [path, f"--root={root}"]
        conmon = shutil.which("conmon") if use_conmon else None
        self._shim: OciShim = (
            ConmonShim(conmon=conmon, runtime=self._runtime, state=self.state)
            if conmon
            else SupervisorShim(runtime=self._runtime, state=self.state)
        )
        self._host_ready = False

    async def version(self) -> RuntimeVersion:
        output = await self._run("--version")
        words = output.split()
        return RuntimeVersion(self.name, words[2] if len(words) > 2 else "", features=FEATURES)

    def cgroups_path(self, record: ContainerRecord) -> str:
        sandbox = self.state.load_sandbox(record.sandbox_id)
        return f"{self._pod_cgroup(sandbox)}/{record.id}"

    async def rotate_logs(self) -> None:
        """Rotate the log of every running container whose log is past ``log_max_bytes``."""
        for container_id in self.state.container_ids():
            record = self.state.load_container(container_id)
            if self._status(record).state is ContainerState.RUNNING:
                self._shim.rotate_log(record.id, log_path=record.log_path,
                                      max_bytes=self.log_max_bytes,
                                      max_files=self.log_max_files)  # fmt: skip

    # --- hooks

    async def _create(self, record: ContainerRecord, sandbox: SandboxRecord) -> None:
        self._prepare_host()
        directory = self.state.container_dir(record.id)
        (directory / "bundle").mkdir()
        hostname_file = directory / "hostname"
        hostname_file.write_text(hostname(sandbox.config) + "\n")
        try:
            config = self._with_image(record)
            spec = build_spec(
                config=config, sandbox=sandbox.config,
                cgroups_path=self.cgroups_path(record), hostname_file=str(hostname_file),
            )  # fmt: skip
            write_json(directory / "bundle" / "config.json", spec)
            await self._shim.create(record.id, log_path=record.log_path, stdin=config.stdin,
                                    stdin_once=config.stdin_once)
        except BaseException:
            self._release_image(record)
            raise

    def _with_image(self, record: ContainerRecord) -> ContainerConfig:
        """The config with the image's rootfs and config applied (recorded for status).

        Deliberately not in a thread: a cancelled ``to_thread`` would let the mount happen
        after the caller's clean-up, leaking it. The layers were unpacked at pull time, so
        this is one overlay mount and two small file writes.
        """
        config = record.config
        if config.image.rootfs or self.image_store is None:
            return config
        directory = self.state.container_dir(record.id)
        image = resolve_image(self.image_store, config.image, directory)
        user = config.user or image_user(image.user, Path(image.rootfs))
        config = replace(config, image=image, user=user)
        self.state.save_container(replace(record, config=config))
        return config

    def _release_image(self, record: ContainerRecord) -> None:
        if self.image_store is not None:
            release_image(self.image_store, self.state.container_dir(record.id))

    async def _start(self, record: ContainerRecord, sandbox: SandboxRecord) -> None:
        started_at = now()  # before: a short-lived container may exit before start returns
        shim_pid = await self._shim.start(record.id, log_path=record.log_path)
        pid = self._container_pid(record)
        start = StartRecord(pid, started_at, process_start_ticks(pid) or 0,
                            shim_pid, process_start_ticks(shim_pid) or 0)  # fmt: skip
        self.state.save_start(record.id, start)

    def _container_pid(self, record: ContainerRecord) -> int:
        """The container's init PID, which the runtime wrote when it created the container."""
        try:
            return int((self.state.container_dir(record.id) / "ctr.pid").read_text())
        except (FileNotFoundError, ValueError):
            raise StartError(f"{self.name} recorded no PID for {record.id}") from None

    async def _signal(self, record: ContainerRecord, start: StartRecord, signum: int) -> None:
        try:
            await self._run("kill", record.id, signal.Signals(signum).name.removeprefix("SIG"))
        except ContainerRuntimeError:
            pass  # it exited meanwhile; the caller waits for the exit record

    async def _destroy(self, record: ContainerRecord) -> None:
        try:
            await self._run("delete", "--force", record.id)
        except ContainerRuntimeError:
            pass  # never created, or already deleted
        self._release_image(record)
        mounts = cgroups.cgroup_mounts()
        path = self.cgroups_path(record)
        cgroups.remove_cgroup(path, mounts)
        cgroups.prune_parents(path, stop_at=self.cgroup_parent, mounts=mounts)

    async def _cleanup_sandbox(self, record: SandboxRecord) -> None:
        mounts = cgroups.cgroup_mounts()
        pod = self._pod_cgroup(record)
        cgroups.remove_cgroup(pod, mounts)
        cgroups.prune_parents(pod, stop_at=self.cgroup_parent, mounts=mounts)

    async def _exec(
        self, record: ContainerRecord, cmd: Sequence[str], *, stdin: bool, tty: bool
    ) -> ExecSession:
        pid_file = self.state.container_dir(record.id) / f"exec-{new_id()}.pid"
        hooks: dict[str, Any] = {
            "on_kill": lambda: kill_pid_file(str(pid_file)),
            "on_exit": lambda: pid_file.unlink(missing_ok=True),
        }
        base = [*self._runtime, "exec", f"--pid-file={pid_file}"]
        if tty and self.name == "runc":  # see execstream: runc relays a local terminal
            argv = [*base, "--tty", record.id, *cmd]
            return await spawn_exec(argv, tty=True, signal_resize=True, **hooks)
        if tty:
            return await spawn_console_exec(
                lambda socket: [*base, "--tty", f"--console-socket={socket}", record.id, *cmd],
                **hooks,
            )
        return await spawn_exec([*base, record.id, *cmd], stdin=stdin, **hooks)

    async def _attach_stdin(self, record: ContainerRecord) -> asyncio.StreamWriter:
        return await self._shim.attach_stdin(record.id, once=record.config.stdin_once)

    async def _update(self, record: ContainerRecord, resources: Resources) -> None:
        path = self.state.container_dir(record.id) / "resources.json"
        path.write_bytes(orjson.dumps(resources_section(resources)))
        await self._run("update", f"--resources={path}", record.id)

    def _read_exit(self, record: ContainerRecord) -> ExitRecord | None:
        return self._shim.read_exit(record.id)

    def _exit_reason(self, record: ContainerRecord, exit_record: ExitRecord) -> str:
        if exit_record.exit_code != 0 and self._oom_evidence(record):
            return "OOMKilled"
        return super()._exit_reason(record, exit_record)

    # --- helpers

    def _oom_evidence(self, record: ContainerRecord) -> bool:
        if self._shim.oom_reported(record.id):
            return True
        return cgroups.oom_killed(self.cgroups_path(record), cgroups.cgroup_mounts())

    def _prepare_host(self) -> None:
        if not self._host_ready and self.name == "crun":
            cgroups.ensure_crun_compatible()
        self._host_ready = True

    def _pod_cgroup(self, sandbox: SandboxRecord) -> str:
        return f"{self.cgroup_parent}/{sandbox.config.uid or sandbox.id}"

    async def _run(self, *args: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            *self._runtime, *args,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        out, err = await proc.communicate()
        if proc.returncode != 0:
            message = err.decode(errors="replace").strip() or f"exit code {proc.returncode}"
            error = NotFound if "does not exist" in message else ContainerRuntimeError
            raise error(f"{self.name} {args[0]}: {message}")
        return out.decode(errors="replace")
