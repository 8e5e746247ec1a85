"""Shims for OCI containers: the process that outlives the agent and keeps the exit code.

* :class:`ConmonShim` (preferred; Debian package ``conmon``): ``create`` starts conmon,
  which daemonizes, runs ``<runtime> create`` and reports the container's PID (or the
  runtime's error) on the ``_OCI_SYNCPIPE`` pipe; the container is then ``created`` and
  ``<runtime> start`` runs it. conmon writes the CRI log itself (its timestamps end in
  ``+00:00`` rather than ``Z``), the exit code to ``<dir>/exits/<id>``, and an ``oom``
  file to ``<dir>`` when the kernel OOM-killed the container. It never rotates that log:
  :meth:`ConmonShim.rotate_log` does what the kubelet's container log manager does — it
  moves the file aside (numbered as :class:`~.crilog.CriLogWriter` numbers them) and asks
  conmon to reopen its log through its control FIFO (``<dir>/bundle/ctl``, message
  ``2 0 0``). A container with ``stdin`` gets conmon's ``--stdin`` (and, without
  ``stdin_once``, ``--leave-stdin-open``); :meth:`ConmonShim.attach_stdin` writes into it
  through conmon's attach socket (:mod:`.conmon_attach`).
* :class:`SupervisorShim` (fallback): ``create`` launches the detached supervisor
  (:mod:`.supervisor`) running ``<runtime> create``; it adopts the container's init as its
  subreaper, copies its output into the CRI log and records its exit code, as conmon does.
  Its log writer rotates by itself, so :meth:`SupervisorShim.rotate_log` does nothing.
  It keeps no stdin: the container's is ``/dev/null`` and attach refuses.

Both make the container ``created`` in ``create``; ``start`` runs ``<runtime> start`` and
returns the shim's PID. The container's cgroup stays until ``<runtime> delete``, so OOM
evidence is still there when the exit is first observed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import orjson

from steersman.kubelet.runtime.conmon_attach import open_attach
from steersman.kubelet.runtime.crilog import shift_rotated
from steersman.kubelet.runtime.interface import CreateError, InvalidState, StartError, Unsupported
from steersman.kubelet.runtime.launcher import append_fd, launch
from steersman.kubelet.runtime.state import ExitRecord, StateDir
from steersman.kubelet.runtime.supervisor import LaunchSpec

SYNC_TIMEOUT = 60.0
REOPEN_LOG = b"2 0 0\n"  # conmon's control message: reopen the log file


class OciShim(Protocol):
    async def create(self, container_id: str, *, log_path: str, stdin: bool = False,
                     stdin_once: bool = False) -> None:
        """Make the container ``created``; ``stdin``: keep its stdin open for attach."""
        ...

    async def start(self, container_id: str, *, log_path: str) -> int:
        """Run the created container; return the PID of the process that holds it."""
        ...

    def read_exit(self, container_id: str) -> ExitRecord | None: ...

    def oom_reported(self, container_id: str) -> bool: ...

    def rotate_log(self, container_id: str, *, log_path: str, max_bytes: int,
                   max_files: int) -> bool:
        """Rotate the running container's log if it is past ``max_bytes``; True if it was."""
        ...

    async def attach_stdin(self, container_id: str, *, once: bool) -> asyncio.StreamWriter:
        """A writer into the stdin of a container created with ``stdin``; ``once``: its
        stdin closes when the writer does, and a later attach is refused."""
        ...


class ConmonShim:
    def __init__(self, *, conmon: str, runtime: list[str], state: StateDir) -> None:
        self._conmon = conmon
        self._runtime = runtime  # the binary, then global options such as --root
        self._state = state

    async def create(self, container_id: str, *, log_path: str, stdin: bool = False,
                     stdin_once: bool = False) -> None:
        directory = self._state.container_dir(container_id)
        stdin_options = ["--stdin"] if stdin else []
        if stdin and not stdin_once:
            stdin_options.append("--leave-stdin-open")
        for needed in ("exits", "sockets"):  # conmon fails silently without them
            (directory / needed).mkdir(exist_ok=True)
        read_fd, write_fd = os.pipe()
        try:
            await self._spawn(container_id, directory, log_path, write_fd, stdin_options)
        finally:
            os.close(write_fd)
        with os.fdopen(read_fd, "rb") as sync:
            report = await asyncio.wait_for(asyncio.to_thread(sync.readline), SYNC_TIMEOUT)
        _check_sync_report(report, directory)

    async def _spawn(self, container_id: str, directory: Path, log_path: str, fd: int,
                     extra: list[str]) -> None:
        binary, *options = self._runtime
        argv = [
            self._conmon, "--api-version", "1", "-c", container_id, "-u", container_id,
            "-n", container_id, "-r", binary, "-b", str(directory / "bundle"),
            "-p", str(directory / "ctr.pid"), "-P", str(directory / "conmon.pid"),
            "-l", f"k8s-file:{log_path}", "--exit-dir", str(directory / "exits"),
            "-0", str(directory), "--socket-dir-path", str(directory / "sockets"),
            "--log-level", "error", *extra,
        ]  # fmt: skip
        for option in options:
            argv += ["--runtime-arg", option]
        env = {**os.environ, "_OCI_SYNCPIPE": str(fd)}
        errors = append_fd(directory / "conmon.log")
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=subprocess.DEVNULL, stdout=errors, stderr=errors,
                pass_fds=(fd,), env=env, cwd=directory,  # conmon drops an "oom" file in its cwd
            )  # fmt: skip
        finally:
            os.close(errors)
        await proc.wait()

    async def start(self, container_id: str, *, log_path: str) -> int:
        await start_created(self._runtime, container_id)
        return int((self._state.container_dir(container_id) / "conmon.pid").read_text())

    async def attach_stdin(self, container_id: str, *, once: bool) -> asyncio.StreamWriter:
        directory = self._state.container_dir(container_id)
        if once:  # conmon would take a later attach and drop what it sends: refuse it here
            try:
                (directory / "stdin-attached").touch(exist_ok=False)
            except FileExistsError:
                raise InvalidState("the container's stdin is closed (with stdinOnce, the "
                                   "first attach's end closes it)") from None
        return await open_attach(directory / "bundle", once=once)

    def read_exit(self, container_id: str) -> ExitRecord | None:
        path = self._state.container_dir(container_id) / "exits" / container_id
        try:
            text = path.read_text().strip()
            finished = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        except FileNotFoundError:
            return None
        if not text:
            return None  # conmon is still writing it
        code = int(text)
        return ExitRecord(code, finished, signal=code - 128 if code > 128 else None)

    def oom_reported(self, container_id: str) -> bool:
        return (self._state.container_dir(container_id) / "oom").exists()

    def rotate_log(self, container_id: str, *, log_path: str, max_bytes: int,
                   max_files: int) -> bool:
        """Move the log aside, then have conmon reopen it (it creates a fresh file).

        The FIFO is opened first: with no conmon reading it (the container has exited) the
        open fails and the log stays as it is. Lines conmon writes between the rename and
        the reopen land at the end of the rotated file, where readers still find them.
        """
        control_path = self._state.container_dir(container_id) / "bundle" / "ctl"
        try:
            if os.stat(log_path).st_size <= max_bytes:
                return False
            control = os.open(control_path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # no log yet, or no conmon any more (ENOENT, ENXIO)
            return False
        try:
            shift_rotated(log_path, max_files)
            os.write(control, REOPEN_LOG)
        except BrokenPipeError:
            return False  # conmon exited meanwhile; the rotated files keep the whole log
        finally:
            os.close(control)
        return True


def _check_sync_report(report: bytes, directory: Path) -> None:
    try:
        message = orjson.loads(report)
    except orjson.JSONDecodeError:
        message = {}
    if int(message.get("data", -1)) > 0:
        return
    detail = message.get("message") or _tail(directory / "conmon.log")
    raise CreateError(f"the OCI runtime could not create the container: {detail}")


def _tail(path: Path) -> str:
    with contextlib.suppress(FileNotFoundError):
        return path.read_text(errors="replace").strip()[-2000:] or "no message"
    return "no message"


class SupervisorShim:
    def __init__(self, *, runtime: list[str], state: StateDir) -> None:
        self._runtime = runtime
        self._state = state

    async def create(self, container_id: str, *, log_path: str, stdin: bool = False,
                     stdin_once: bool = False) -> None:
        directory = self._state.container_dir(container_id)
        pid_file = directory / "ctr.pid"
        argv = (*self._runtime, "create", "--bundle", str(directory / "bundle"),
                "--pid-file", str(pid_file), container_id)  # fmt: skip
        spec = LaunchSpec(argv=argv, env=dict(os.environ), log_path=log_path,
                          pid_file=str(pid_file))  # fmt: skip
        try:
            await launch(directory, spec)
        except StartError as error:
            raise CreateError(f"the OCI runtime could not create the container: {error}") from None

    async def start(self, container_id: str, *, log_path: str) -> int:
        await start_created(self._runtime, container_id)
        return int((self._state.container_dir(container_id) / "supervisor.pid").read_text())

    async def attach_stdin(self, container_id: str, *, once: bool) -> asyncio.StreamWriter:
        raise Unsupported("the supervisor shim (used where conmon is not installed) does not "
                          "keep a container's stdin open: attach without -i to stream its "
                          "output")

    def read_exit(self, container_id: str) -> ExitRecord | None:
        return self._state.load_exit(container_id)

    def oom_reported(self, container_id: str) -> bool:
        return False

    def rotate_log(self, container_id: str, *, log_path: str, max_bytes: int,
                   max_files: int) -> bool:
        return False  # the supervisor's CriLogWriter rotates as it writes


async def start_created(runtime: list[str], container_id: str) -> None:
    """``<runtime> start``: run the process of a container in the ``created`` state."""
    proc = await asyncio.create_subprocess_exec(
        *runtime, "start", container_id,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await proc.communicate()
    if proc.returncode != 0:
        raise StartError(output.decode(errors="replace").strip())
