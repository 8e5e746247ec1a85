"""The detached container supervisor: a small process that outlives the agent.

``python -m steersman.kubelet.runtime.supervisor CONTAINER_DIR`` reads
``CONTAINER_DIR/launch.json`` (a :class:`LaunchSpec`), double-forks into its own session
(so the agent can exit or restart at any time), and then:

1. starts the workload as a new process group (its PID is the group ID), with the spec's
   argv, environment, working directory and user, stdin from /dev/null;
2. records ``started.json`` (unless the spec says the caller records the PID itself) and
   reports ``ok PID`` — or ``error MESSAGE`` plus an ``exit.json`` with reason
   ``StartError`` and exit code 128 — on its stdout, which the launcher reads, then closes;
3. copies the workload's stdout and stderr into the CRI log, one timestamped line each;
4. forwards SIGTERM, SIGINT and SIGHUP it receives to the workload's group;
5. when the workload's leader exits, SIGKILLs what is left of its group (a container ends
   with its main process), drains the pipes, and records ``exit.json``: the exit code,
   or ``128 + N`` and the signal for a process killed by signal N.

The process runtime runs the container's command this way; the OCI runtime runs
``crun run`` / ``runc run`` this way when conmon is not installed. Launch with
:func:`launch`, which waits for the ``ok``/``error`` report.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from steersman.kubelet.runtime.crilog import CriLogWriter
from steersman.kubelet.runtime.interface import StartError, User
from steersman.kubelet.runtime.state import (
    ExitRecord,
    StartRecord,
    StateDir,
    process_start_ticks,
    read_json,
    write_json,
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
    record_start: bool = True  # False: the caller derives and records the PID itself


async def launch(container_dir: Path, spec: LaunchSpec) -> int:
    """Start a supervisor for ``spec``; return the workload's PID or raise StartError."""
    write_json(container_dir / "launch.json", spec)
    errors = append_fd(container_dir / "supervisor.log")
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", __name__, str(container_dir),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors,
        )  # fmt: skip
    finally:
        os.close(errors)
    assert proc.stdout is not None
    report = (await proc.stdout.read()).decode(errors="replace").strip()
    await proc.wait()
    status, _, detail = report.partition(" ")
    if status != "ok":
        raise StartError(detail or f"supervisor failed, see {container_dir}/supervisor.log")
    return int(detail)


def append_fd(path: Path) -> int:
    """A descriptor appending to ``path``, for a child's stderr (the caller closes it)."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)


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
    try:
        proc, pipes = _spawn(spec)
    except OSError as error:
        message = f"{spec.argv[0]}: {error.strerror or error}"
        state.save_exit(container_id, _start_error(message))
        _report(f"error {message}")
        return 1
    if spec.record_start:
        ticks = process_start_ticks(proc.pid) or 0
        own_ticks = process_start_ticks(os.getpid()) or 0
        record = StartRecord(proc.pid, _now(), ticks, os.getpid(), own_ticks)
        state.save_start(container_id, record)
    _report(f"ok {proc.pid}")
    _forward_signals(proc.pid)
    returncode = _wait_and_log(proc, pipes, spec.log_path)
    state.save_exit(container_id, _exit_record(returncode))
    return 0


def _spawn(spec: LaunchSpec) -> tuple[subprocess.Popen[bytes], dict[str, int]]:
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    user = spec.user
    try:
        proc = subprocess.Popen(
            spec.argv, env=dict(spec.env), cwd=spec.cwd, stdin=subprocess.DEVNULL,
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


def _forward_signals(pgid: int) -> None:
    def forward(signum: int, _frame: object) -> None:
        try:
            os.killpg(pgid, signum)
        except ProcessLookupError:
            pass

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)


def _wait_and_log(proc: subprocess.Popen[bytes], pipes: dict[str, int], log_path: str) -> int:
    writer = CriLogWriter(log_path or os.devnull)
    pumps = [
        threading.Thread(target=_pump, args=(fd, stream, writer), daemon=True)
        for stream, fd in pipes.items()
    ]
    for pump in pumps:
        pump.start()
    returncode = proc.wait()
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for pump in pumps:
        pump.join(DRAIN_TIMEOUT)
    writer.close()
    return returncode


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
