"""The detached container supervisor: a small process that outlives the agent.

``python -m steersman.kubelet.runtime.supervisor CONTAINER_DIR`` reads
``CONTAINER_DIR/launch.json`` (a :class:`LaunchSpec`), double-forks into its own session
(so the agent can exit or restart at any time), and then:

1. starts the workload as a new process group (its PID is the group ID), with the spec's
   argv, environment, working directory and user, stdin from /dev/null — inside the
   network namespace ``netns_path`` when the spec names one (the supervisor joins it
   first, so the workload and everything it forks are born there). With ``stdin_fifo``
   the stdin is a pipe held open instead, fed by each writer of that FIFO (an attach) in
   turn; with ``stdin_once`` the pipe closes when the first writer goes;
2. records ``started.json`` and its own PID in ``supervisor.pid``, and reports ``ok PID``
   — or ``error MESSAGE`` plus an ``exit.json`` with reason ``StartError`` and exit code
   128 — on its stdout, which the launcher reads, then closes;
3. copies the workload's stdout and stderr into the CRI log, one timestamped line each;
4. forwards SIGTERM, SIGINT and SIGHUP it receives to the workload's group;
5. when the workload's leader exits, SIGKILLs what is left of its group (a container ends
   with its main process), drains the pipes, and records ``exit.json``: the exit code,
   or ``128 + N`` and the signal for a process killed by signal N.

The process runtime runs the container's command this way. The OCI runtime, when conmon
is not installed, has it run ``<runtime> create`` instead (``LaunchSpec.pid_file``): the
supervisor becomes the child subreaper, adopts the container's init when ``create`` exits,
and waits for it as in 5 — conmon's model, so the exit code is kept. The agent side is
:func:`~.launcher.launch`. This module imports little (no asyncio): it starts once per
container.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from steersman.kubelet.runtime.crilog import CriLogWriter
from steersman.kubelet.runtime.interface import User
from steersman.kubelet.runtime.state import (
    ExitRecord,
    StartRecord,
    StateDir,
    process_start_ticks,
    read_json,
)

START_ERROR_EXIT_CODE = 128
DRAIN_TIMEOUT = 2.0  # a grandchild that escaped the group may hold the pipes open


@dataclass(frozen=True)
class LaunchSpec:
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str = "/"
    log_path: str = ""
    user: User | None = None
    # Set: ``argv`` only *creates* the workload (``<runtime> create --pid-file``) and exits;
    # the workload is the PID written there, adopted as a child (we are its subreaper),
    # and the caller starts it and records its start.
    pid_file: str = ""
    netns_path: str = ""  # the pod's network namespace (bridge networking); "": the host's
    # Bound over /etc/resolv.conf in a mount namespace of the workload's own (root); "": none.
    resolv_conf_path: str = ""
    stdin_fifo: str = ""  # created here; attach writes the workload's stdin into it
    stdin_once: bool = False


def main(argv: list[str]) -> int:
    container_dir = Path(argv[1])
    spec = read_json(container_dir / "launch.json", LaunchSpec)
    assert spec is not None, f"{container_dir}/launch.json is missing"
    _daemonize()
    return _supervise(container_dir, spec)


def _daemonize() -> None:
    if os.fork() > 0:
        os._exit(0)  # the launcher's child: lets the launcher reap it at once
    os.setsid()
    if os.fork() > 0:
        os._exit(0)  # the session leader: the supervisor can never regain a terminal
    os.chdir("/")


def _supervise(container_dir: Path, spec: LaunchSpec) -> int:
    state = StateDir(container_dir.parent.parent)
    container_id = container_dir.name
    (container_dir / "supervisor.pid").write_text(str(os.getpid()))
    if spec.pid_file:
        _become_subreaper()
    try:
        if spec.netns_path:
            _enter_netns(spec.netns_path)
        if spec.resolv_conf_path:
            _bind_resolv_conf(spec.resolv_conf_path)
        proc, pipes = _spawn(spec)
    except OSError as error:
        message = f"{spec.argv[0]}: {error.strerror or error}"
        state.save_exit(container_id, _start_error(message))
        _report(f"error {message}")
        return 1
    if spec.pid_file:
        return _supervise_created(state, container_id, spec, proc, pipes)
    ticks = process_start_ticks(proc.pid) or 0
    own_ticks = process_start_ticks(os.getpid()) or 0
    state.save_start(container_id, StartRecord(proc.pid, _now(), ticks, os.getpid(), own_ticks))
    _report(f"ok {proc.pid}")
    _forward_signals(proc.pid, group=True)
    returncode = _log_until_exit(pipes, spec.log_path, proc.wait, lambda: _kill_group(proc.pid))
    state.save_exit(container_id, _exit_record(returncode))
    return 0


def _supervise_created(
    state: StateDir,
    container_id: str,
    spec: LaunchSpec,
    creator: subprocess.Popen[bytes],
    pipes: dict[str, int],
) -> int:
    if creator.wait() != 0:
        message = b"".join(_read_all(fd) for fd in pipes.values()).decode(errors="replace")
        _report(f"error {message.strip() or f'exit code {creator.returncode}'}")
        return 1
    pid = int(Path(spec.pid_file).read_text())
    _report(f"ok {pid}")
    _forward_signals(pid, group=False)
    returncode = _log_until_exit(pipes, spec.log_path, lambda: _reap_until(pid), lambda: None)
    state.save_exit(container_id, _exit_record(returncode))
    return 0


def _become_subreaper() -> None:
    """Orphaned descendants (the container, once ``create`` exits) become our children."""
    import ctypes  # only here: the process runtime's supervisors never need it

    pr_set_child_subreaper = 36
    if ctypes.CDLL(None, use_errno=True).prctl(pr_set_child_subreaper, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def _enter_netns(path: str) -> None:
    """Join the network namespace pinned at ``path`` (``os.setns`` is Python 3.12+)."""
    import ctypes  # only here: only pods with their own network namespace need it

    clone_newnet = 0x40000000
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as err:
        raise OSError(err.errno, f"cannot join network namespace {path}: {err.strerror}") from err
    try:
        if ctypes.CDLL(None, use_errno=True).setns(fd, clone_newnet) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"cannot join network namespace {path}: {os.strerror(errno)}")
    finally:
        os.close(fd)


def _bind_resolv_conf(path: str) -> None:
    """``path`` at /etc/resolv.conf for us and the workload only, as ``ip netns exec`` binds
    /etc/netns/NAME/resolv.conf: a mount namespace of our own whose mounts the host never
    sees (``MS_SLAVE``: the host's later mounts, emptyDir tmpfs included, still reach us)."""
    import ctypes  # only here: only pods given a resolv.conf need it

    libc = ctypes.CDLL(None, use_errno=True)
    clone_newns, ms_bind, ms_rec, ms_slave = 0x00020000, 4096, 16384, 1 << 19
    _check(libc.unshare(clone_newns), "unshare(CLONE_NEWNS)")
    _check(libc.mount(None, b"/", None, ms_rec | ms_slave, None), "mount --make-rslave /")
    _check(libc.mount(path.encode(), b"/etc/resolv.conf", None, ms_bind, None),
           f"bind {path} at /etc/resolv.conf")


def _check(result: int, what: str) -> None:
    """A libc call's result: -1 becomes an OSError naming what failed."""
    import ctypes

    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"cannot {what}: {os.strerror(errno)}")


def _reap_until(pid: int) -> int:
    """Reap adopted children until ``pid`` exits; its status as Popen.returncode would be."""
    while True:
        reaped, status = os.waitpid(-1, 0)
        if reaped == pid:
            return os.waitstatus_to_exitcode(status)


def _read_all(fd: int) -> bytes:
    with os.fdopen(fd, "rb") as pipe:
        return pipe.read()


def _spawn(spec: LaunchSpec) -> tuple[subprocess.Popen[bytes], dict[str, int]]:
    if not spec.stdin_fifo:
        return _spawn_with_stdin(spec, subprocess.DEVNULL)
    with contextlib.suppress(FileExistsError):
        os.mkfifo(spec.stdin_fifo, 0o600)
    fifo = _open_fifo(spec.stdin_fifo)  # before the start is reported: attach can open it
    in_r, in_w = os.pipe()
    try:
        spawned = _spawn_with_stdin(spec, in_r)
    except OSError:
        for fd in (fifo, in_w):
            os.close(fd)
        raise
    finally:
        os.close(in_r)
    threading.Thread(target=_relay_stdin, args=(spec, fifo, in_w), daemon=True).start()
    return spawned


def _open_fifo(path: str) -> int:
    """A reader of the FIFO at ``path``, without waiting for a writer."""
    return os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)


def _relay_stdin(spec: LaunchSpec, fifo: int, sink: int) -> None:
    """Copy each writer of the FIFO (each attach) in turn into the workload's stdin
    ``sink``; with ``stdin_once`` the first writer's end is the stdin's end, and the FIFO
    is left without a reader, so a later attach is refused (ENXIO)."""
    try:
        with os.fdopen(sink, "wb", buffering=0) as stdin, contextlib.suppress(BrokenPipeError):
            _copy_one_writer(fifo, stdin)
            while not spec.stdin_once:
                # The next reader first: the FIFO always has one, so an attach never fails.
                fifo, previous = _open_fifo(spec.stdin_fifo), fifo
                os.close(previous)
                _copy_one_writer(fifo, stdin)
    finally:
        os.close(fifo)


def _copy_one_writer(fifo: int, stdin: BinaryIO) -> None:
    """Copy until the FIFO's writers have gone. Linux reports POLLHUP on a reader only once
    a writer has come and gone since it was opened, so before any writer this waits."""
    poller = select.poll()
    poller.register(fifo, select.POLLIN)
    while True:
        poller.poll()
        try:
            chunk = os.read(fifo, 65536)
        except BlockingIOError:  # a writer is there but has written nothing yet
            continue
        if not chunk:
            return
        stdin.write(chunk)


def _spawn_with_stdin(
    spec: LaunchSpec, stdin: int
) -> tuple[subprocess.Popen[bytes], dict[str, int]]:
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    user = spec.user
    try:
        proc = subprocess.Popen(
            spec.argv, env=dict(spec.env), cwd=spec.cwd, stdin=stdin,
            stdout=out_w, stderr=err_w, process_group=0,
            user=user.uid if user else None, group=user.gid if user else None,
            extra_groups=list(user.supplemental_gids) if user else None,
        )  # fmt: skip
    except OSError:
        for fd in (out_r, err_r):
            os.close(fd)
        raise
    finally:
        os.close(out_w)
        os.close(err_w)
    return proc, {"stdout": out_r, "stderr": err_r}


def _report(line: str) -> None:
    """Tell the launcher how the start went, then let go of its pipe."""
    os.write(1, line.encode() + b"\n")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)


def _forward_signals(pid: int, *, group: bool) -> None:
    def forward(signum: int, _frame: object) -> None:
        try:
            (os.killpg if group else os.kill)(pid, signum)
        except ProcessLookupError:
            pass

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)


def _log_until_exit(
    pipes: dict[str, int], log_path: str, wait: Callable[[], int], after: Callable[[], None]
) -> int:
    """Copy the pipes into the CRI log until ``wait()`` returns and the pipes drain."""
    writer = CriLogWriter(log_path or os.devnull)
    pumps = [
        threading.Thread(target=_pump, args=(fd, stream, writer), daemon=True)
        for stream, fd in pipes.items()
    ]
    for pump in pumps:
        pump.start()
    returncode = wait()
    after()
    for pump in pumps:
        pump.join(DRAIN_TIMEOUT)
    writer.close()
    return returncode


def _kill_group(pgid: int) -> None:
    """A container ends with its main process: nothing of its group outlives it."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _pump(fd: int, stream: str, writer: CriLogWriter) -> None:
    with os.fdopen(fd, "rb", buffering=0) as pipe:
        while chunk := pipe.read(65536):
            writer.write(stream, chunk)
    writer.close_stream(stream)


def _exit_record(returncode: int) -> ExitRecord:
    if returncode < 0:
        return ExitRecord(128 - returncode, _now(), signal=-returncode)
    return ExitRecord(returncode, _now())


def _start_error(message: str) -> ExitRecord:
    return ExitRecord(START_ERROR_EXIT_CODE, _now(), reason="StartError", message=message)


def _now() -> datetime:
    return datetime.now(UTC)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
