"""What the benchmarks share: child processes they start and stop, and /proc readings.

:class:`Child` runs a ``steersman`` command (or anything else) with its output in a log
file, waits for a line of it, and stops it by PID; :func:`cpu_seconds` and
:func:`memory_mib` read one process, :func:`tree` finds a process's descendants so a
footprint can include what a command started (a node's container supervisors);
:func:`unmount_under` removes what containers left mounted below a benchmark's temp dir;
:func:`pin` sets a thread's CPU affinity (the server on a core of its own).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def pin(pid: int, cpus: set[int]) -> None:
    """Run thread ``pid`` (0: the caller; a process's PID: its main thread) on ``cpus``
    only; threads it starts afterwards inherit that. Best effort."""
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setaffinity(pid, cpus)


class Child:
    """A subprocess with its output in a log file, stopped by PID."""

    def __init__(self, argv: list[str], log_path: Path) -> None:
        self.log_path = log_path
        with open(log_path, "wb") as out:
            self.process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.process.args!r}: no {text!r}:\n{self.log_text()}")
            time.sleep(0.05)

    def memory_mib(self, field: str = "VmRSS") -> float:
        return memory_mib(self.pid, field)

    def stop(self, timeout: float = 20) -> None:
        stop_process(self.process, timeout=timeout)


def stop_process(process: subprocess.Popen[bytes], *, timeout: float = 20) -> None:
    """SIGTERM by PID, SIGKILL if it has not exited within ``timeout`` seconds."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


async def remove_runtime_state(runtime: str, state_dir: Path) -> None:
    """Remove every sandbox (and its containers) a node left in ``state_dir``."""
    from steersman.kubelet.runtime.registry import new_runtime

    service = new_runtime(runtime, state_dir=state_dir)
    for sandbox in await service.list_sandboxes():
        await service.remove_sandbox(sandbox.id)


def cpu_seconds(pid: int, *, children: bool = False) -> float:
    """User + system CPU time of ``pid`` so far (``children``: plus its waited-for
    children's, e.g. the ``crun`` commands a node agent ran)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    used = int(fields[11]) + int(fields[12])
    if children:
        used += int(fields[13]) + int(fields[14])
    return used / _TICKS


def host_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all CPUs: the difference of
    two readings says how busy the machine was, including what other users ran."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / _TICKS, sum(values[:8]) / _TICKS


def memory_mib(pid: int, field: str = "VmRSS") -> float:
    """A ``/proc/PID/status`` memory field (``VmRSS``, ``VmHWM``) in MiB; 0 when gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0.0
    for line in lines:
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def tree(pid: int) -> list[int]:
    """``pid`` and every live process whose ancestry (or session) leads to it."""
    parents: dict[int, int] = {}
    sessions: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        sessions[int(entry.name)] = int(fields[3])
    found = {pid}
    changed = True
    while changed:
        changed = False
        for child, parent in parents.items():
            if child not in found and parent in found:
                found.add(child)
                changed = True
    return sorted(found)


def unmount_under(directory: Path) -> int:
    """Unmount (deepest first) every mount at or below ``directory``; how many there were.

    A safety net before a temporary directory is removed: removing a sandbox releases its
    containers' rootfs, but a container that failed half-way may leave an overlay behind.
    """
    prefix = str(directory.resolve())
    points = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    inside = sorted({p for p in points if p == prefix or p.startswith(prefix + "/")},
                    key=len, reverse=True)
    for point in inside:
        result = subprocess.run(["umount", "--lazy", point], capture_output=True, text=True)
        if result.returncode:
            print(f"umount {point}: {result.stderr.strip()}", file=sys.stderr)
    return len(inside)
