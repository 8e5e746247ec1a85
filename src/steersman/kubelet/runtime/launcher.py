"""Start the detached supervisor (:mod:`.supervisor`) and read its start report.

:func:`launch` writes ``launch.json`` into the container's directory, runs
``python -m steersman.kubelet.runtime.supervisor DIR`` (its stderr appended to
``DIR/supervisor.log``), and returns the workload's PID from the ``ok PID`` line, or raises
:class:`~.interface.StartError` with the ``error MESSAGE`` it reported.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from steersman.kubelet.runtime import supervisor
from steersman.kubelet.runtime.interface import StartError
from steersman.kubelet.runtime.state import write_json
from steersman.kubelet.runtime.supervisor import LaunchSpec


def append_fd(path: Path) -> int:
    """A descriptor appending to ``path``, for a child's stderr (the caller closes it)."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)


async def launch(container_dir: Path, spec: LaunchSpec) -> int:
    """Start a supervisor for ``spec``; return the workload's PID or raise StartError."""
    write_json(container_dir / "launch.json", spec)
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
    status, _, detail = report.partition(" ")
    if status != "ok":
        raise StartError(detail or f"supervisor failed, see {container_dir}/supervisor.log")
    return int(detail)
