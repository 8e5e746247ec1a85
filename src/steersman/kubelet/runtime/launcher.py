"""Start the detached supervisor (:mod:`.supervisor`) and read its start report.

:func:`launch` writes ``launch.json`` into the container's directory and has a supervisor
started for it: forked by this process's warm :mod:`.zygote` (started on first use, and
again if it died), or — when no zygote can be had — as a fresh
``python -m steersman.kubelet.runtime.supervisor DIR``. Either way the supervisor's stderr
goes to ``DIR/supervisor.log``, and :func:`launch` returns the workload's PID from the
``ok PID`` line, or raises :class:`~.interface.StartError` with the ``error MESSAGE`` it
reported.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import subprocess
import sys
import threading
from pathlib import Path

from steersman.kubelet.runtime import supervisor, zygote
from steersman.kubelet.runtime.interface import StartError
from steersman.kubelet.runtime.state import write_json
from steersman.kubelet.runtime.supervisor import LaunchSpec

log = logging.getLogger(__name__)


def append_fd(path: Path) -> int:
    """A descriptor appending to ``path``, for a child's stderr (the caller closes it)."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)


async def launch(container_dir: Path, spec: LaunchSpec) -> int:
    """Start a supervisor for ``spec``; return the workload's PID or raise StartError."""
    write_json(container_dir / "launch.json", spec)
    report = await _via_zygote(container_dir)
    if report is None:
        report = await _via_interpreter(container_dir)
    status, _, detail = report.partition(" ")
    if status != "ok":
        raise StartError(detail or f"supervisor failed, see {container_dir}/supervisor.log")
    return int(detail)


async def _via_zygote(container_dir: Path) -> str | None:
    """The report of a supervisor forked by the zygote; None when there is no zygote."""
    # Started from the event loop's thread on purpose: the zygote follows the thread that
    # started it (PR_SET_PDEATHSIG), and a worker thread may end long before the agent.
    address = _ZYGOTE.address()
    if address is None:
        return None
    try:
        reader, writer = await asyncio.open_unix_connection("\0" + address)
    except OSError as err:
        log.info("container supervisor zygote unreachable (%s); starting a new one", err)
        _ZYGOTE.forget(address)
        return None
    try:
        writer.write(f"{container_dir}\n".encode())
        await writer.drain()
        return (await reader.read()).decode(errors="replace").strip()
    finally:
        writer.close()


async def _via_interpreter(container_dir: Path) -> str:
    errors = append_fd(container_dir / "supervisor.log")
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", supervisor.__name__, str(container_dir),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors,
        )  # fmt: skip
    finally:
        os.close(errors)
    assert proc.stdout is not None
    report = (await proc.stdout.read()).decode(errors="replace").strip()
    await proc.wait()
    return report


class _Zygote:
    """This process's zygote: started on first use, replaced when it is gone."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._address = ""

    def address(self) -> str | None:
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._start()
            return self._address or None

    def forget(self, address: str) -> None:
        with self._lock:
            if self._address == address and self._process is not None:
                self._process.kill()
                self._process.wait()
                self._process, self._address = None, ""

    def _start(self) -> None:
        address = f"steersman-zygote-{os.getpid()}-{secrets.token_hex(6)}"
        self._process, self._address = None, ""
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", zygote.__name__, address, str(os.getpid())],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        except OSError as err:
            log.warning("cannot start the container supervisor zygote: %s", err)
            return
        assert process.stdout is not None
        # Blocks until the zygote listens: tens of milliseconds, once per agent process.
        ready = process.stdout.readline()
        process.stdout.close()
        if ready.strip() != b"ready":
            log.warning("the container supervisor zygote did not start (exit %s)",
                        process.poll())
            process.kill()
            process.wait()
            return
        self._process, self._address = process, address


_ZYGOTE = _Zygote()
