"""A warm process that forks container supervisors, so a container start costs a fork.

Starting a supervisor as ``python -m steersman.kubelet.runtime.supervisor`` costs a fresh
interpreter and its imports: ~55 ms of CPU per container, a core's worth at 20 pod starts a
second. ``python -m steersman.kubelet.runtime.zygote ADDRESS PARENT`` imports the
supervisor once, listens on the abstract Unix socket ``ADDRESS`` and, for each connection
that sends a container directory and a newline, forks a child that runs
:func:`.supervisor.main` for it with the connection as its stdout — so the ``ok PID`` /
``error …`` report reaches the launcher exactly as it would from a fresh supervisor, which
double-forks into its own session and outlives both the zygote and the agent.

The zygote is the agent's child and ends with it (``PR_SET_PDEATHSIG``; and at start, if
``PARENT`` is gone already). It prints ``ready`` once it listens. It never runs container
code itself and keeps no state, so losing it costs only the next start's warm-up
(:mod:`.launcher` starts a new one, or falls back to a fresh interpreter).
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from pathlib import Path

from steersman.kubelet.runtime import supervisor

_PR_SET_PDEATHSIG = 1
_MAX_LINE = 4096


def main(argv: list[str]) -> int:
    address, parent = argv[1], int(argv[2])
    _die_with_parent(parent)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind("\0" + address)
    server.listen(128)
    # The first child of each start exits at once (the supervisor's double fork): let the
    # kernel reap it. Forked children restore the default before supervising.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    os.write(1, b"ready\n")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)
    os.close(devnull)
    while True:
        connection, _ = server.accept()
        with connection:
            container_dir = _read_line(connection)
            if container_dir:
                _fork_supervisor(server, connection, container_dir)


def _die_with_parent(parent: int) -> None:
    import ctypes  # only here: the supervisors forked from us never need it

    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:
        sys.exit(0)  # the agent died before we could ask to follow it


def _read_line(connection: socket.socket) -> str:
    data = b""
    while not data.endswith(b"\n") and len(data) < _MAX_LINE:
        chunk = connection.recv(_MAX_LINE)
        if not chunk:
            return ""
        data += chunk
    return data.decode(errors="replace").strip()


def _fork_supervisor(server: socket.socket, connection: socket.socket,
                     container_dir: str) -> None:
    if os.fork() > 0:
        return
    code = 1
    try:
        server.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.dup2(connection.fileno(), 1)
        log = Path(container_dir) / "supervisor.log"
        errors = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(errors, 2)
        os.close(errors)
        connection.close()
        code = supervisor.main(["supervisor", container_dir])
    finally:
        os._exit(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
