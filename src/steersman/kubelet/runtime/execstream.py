"""Exec sessions: a subprocess (the command itself, or ``crun exec …``) behind ExecSession.

:func:`spawn_exec` starts the process with pipes, or with a pseudo-terminal when ``tty``
is asked for: the terminal's slave side becomes the process's stdin, stdout and stderr
(an OCI runtime passes these descriptors into the container unchanged, so the same code
serves both runtimes), and the master side is exposed as ``stdout`` (and ``stdin``).

:func:`spawn_console_exec` is crun's way to a terminal: ``crun exec --tty
--console-socket PATH`` sends the master side of a terminal it allocated inside the
container over a unix socket we listen on. runc allows a console socket only for detached
processes (whose exit code is lost) and proxies non-tty stdio through pipes of its own, so
for runc ``exec --tty`` runs on a local terminal that runc relays to the container's.

:func:`collect` runs a session to completion for ``exec_sync``, with a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import signal
import socket
import struct
import subprocess
import tempfile
import termios
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from steersman.kubelet.runtime.interface import (
    ContainerRuntimeError,
    ExecResult,
    ExecSession,
    ExecTimeout,
)

CONSOLE_TIMEOUT = 30.0


class SubprocessExec:
    """An :class:`ExecSession` over an asyncio subprocess."""

    def __init__(
        self,
        proc: asyncio.subprocess.Process,
        *,
        stdin: asyncio.StreamWriter | None,
        stdout: asyncio.StreamReader,
        stderr: asyncio.StreamReader | None,
        terminal_fd: int | None = None,
        signal_resize: bool = False,
    ) -> None:
        self._proc = proc
        self._signal_resize = signal_resize
        self._stdin, self._stdout, self._stderr = stdin, stdout, stderr
        self._terminal_fd = terminal_fd
        self._on_kill: Callable[[], None] | None = None
        self._on_exit: Callable[[], None] | None = None

    def set_hooks(
        self, *, on_kill: Callable[[], None] | None, on_exit: Callable[[], None] | None
    ) -> None:
        self._on_kill, self._on_exit = on_kill, on_exit

    @property
    def stdin(self) -> asyncio.StreamWriter | None:
        return self._stdin

    @property
    def stdout(self) -> asyncio.StreamReader:
        return self._stdout

    @property
    def stderr(self) -> asyncio.StreamReader | None:
        return self._stderr

    async def wait(self) -> int:
        code = await self._proc.wait()
        if self._on_exit is not None:
            self._on_exit()
        if self._terminal_fd is not None and self._stdin is not None:
            self._stdin.close()  # the terminal's input side has no reader any more
        return 128 - code if code < 0 else code

    def kill(self) -> None:
        if self._on_kill is not None:
            self._on_kill()
        with contextlib.suppress(ProcessLookupError):
            self._proc.kill()

    def resize(self, *, rows: int, cols: int) -> None:
        if self._terminal_fd is not None:
            size = struct.pack("HHHH", rows, cols, 0, 0)
            with contextlib.suppress(OSError):  # the session has ended
                fcntl.ioctl(self._terminal_fd, termios.TIOCSWINSZ, size)
                if self._signal_resize:  # a proxy (runc -t) re-reads the size on SIGWINCH
                    self._proc.send_signal(signal.SIGWINCH)


async def spawn_exec(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    stdin: bool = False,
    tty: bool = False,
    on_kill: Callable[[], None] | None = None,
    on_exit: Callable[[], None] | None = None,
    signal_resize: bool = False,
    **popen: Any,
) -> SubprocessExec:
    """Start ``argv``; ``on_kill`` runs on :meth:`kill`, ``on_exit`` once it has exited.

    ``signal_resize``: the process relays its terminal to another one (``runc exec -t``)
    and must be told, by SIGWINCH, when the window size changes.
    """
    if tty:
        session = await _spawn_tty(argv, env=env, cwd=cwd, signal_resize=signal_resize, **popen)
    else:
        session = await _spawn_pipes(argv, env=env, cwd=cwd, stdin=stdin, **popen)
    session.set_hooks(on_kill=on_kill, on_exit=on_exit)
    return session


async def _spawn_pipes(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None,
    cwd: str | None,
    stdin: bool,
    **popen: Any,
) -> SubprocessExec:
    proc = await asyncio.create_subprocess_exec(
        *argv, env=None if env is None else dict(env), cwd=cwd,
        stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    return SubprocessExec(proc, stdin=proc.stdin, stdout=proc.stdout, stderr=proc.stderr)


async def _spawn_tty(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None,
    cwd: str | None,
    signal_resize: bool,
    **popen: Any,
) -> SubprocessExec:
    master, slave = pty.openpty()
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, env=None if env is None else dict(env), cwd=cwd,
            stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
            preexec_fn=_take_terminal, **popen,
        )  # fmt: skip
    finally:
        os.close(slave)
    reader, writer, write_fd = await _terminal_streams(master)
    return SubprocessExec(proc, stdin=writer, stdout=reader, stderr=None, terminal_fd=write_fd)


def _take_terminal() -> None:
    """In the child, after setsid: make stdin (the terminal) the controlling one, so the
    shell has job control and ^C reaches the foreground process group."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


async def spawn_console_exec(
    argv_for: Callable[[str], Sequence[str]],
    *,
    on_kill: Callable[[], None] | None = None,
    on_exit: Callable[[], None] | None = None,
) -> SubprocessExec:
    """Run ``argv_for(socket_path)`` and take the terminal it sends to that socket."""
    with tempfile.TemporaryDirectory(prefix="steersman-console-") as directory:
        path = os.path.join(directory, "console.sock")  # short: unix paths max 107 bytes
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
            server.bind(path)
            server.listen(1)
            server.setblocking(False)
            proc = await asyncio.create_subprocess_exec(
                *argv_for(path), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )  # fmt: skip
            master = await _receive_terminal(server, proc)
    reader, writer, write_fd = await _terminal_streams(master)
    session = SubprocessExec(proc, stdin=writer, stdout=reader, stderr=None, terminal_fd=write_fd)
    session.set_hooks(on_kill=on_kill, on_exit=on_exit)
    return session


async def _receive_terminal(server: socket.socket, proc: asyncio.subprocess.Process) -> int:
    loop = asyncio.get_running_loop()
    accept = asyncio.ensure_future(loop.sock_accept(server))
    exited = asyncio.ensure_future(proc.wait())
    await asyncio.wait({accept, exited}, timeout=CONSOLE_TIMEOUT, return_when="FIRST_COMPLETED")
    if not accept.done():
        accept.cancel()
        assert proc.stderr is not None
        error = (await proc.stderr.read()).decode(errors="replace").strip() if exited.done() else ""
        raise ContainerRuntimeError(f"exec with a terminal failed: {error or 'no terminal'}")
    exited.cancel()
    connection, _ = accept.result()
    with connection:
        connection.setblocking(True)
        _message, fds, _flags, _address = await asyncio.to_thread(
            socket.recv_fds, connection, 1024, 1
        )
    return fds[0]


class _TerminalProtocol(asyncio.Protocol):
    """Feeds a StreamReader; EIO from a closed terminal is the end of output, not an error."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    def data_received(self, data: bytes) -> None:
        self._reader.feed_data(data)

    def eof_received(self) -> bool:
        self._reader.feed_eof()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._reader.feed_eof()


async def _terminal_streams(
    master: int,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, int]:
    """Two transports over the terminal's master side; each closes its own descriptor."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    write_fd = os.dup(master)
    await loop.connect_read_pipe(lambda: _TerminalProtocol(reader), os.fdopen(master, "rb", 0))
    return reader, await pipe_writer(write_fd), write_fd


async def pipe_writer(fd: int) -> asyncio.StreamWriter:
    """A stream writer over the pipe, FIFO or terminal ``fd``; closing it closes ``fd``."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, os.fdopen(fd, "wb", 0)
    )
    return asyncio.StreamWriter(transport, protocol, None, loop)


async def collect(session: ExecSession, *, timeout: float) -> ExecResult:
    """Read everything and wait for the exit code; past ``timeout`` kill and raise."""
    stderr = session.stderr
    try:
        async with asyncio.timeout(timeout):
            out, err, code = await asyncio.gather(
                session.stdout.read(),
                stderr.read() if stderr is not None else _empty(),
                session.wait(),
            )
    except TimeoutError:
        session.kill()
        raise ExecTimeout(f"command timed out after {timeout}s") from None
    return ExecResult(code, out, err)


async def _empty() -> bytes:
    return b""


def kill_pid_file(path: str, signum: int = signal.SIGKILL) -> None:
    """Signal the process whose PID an OCI runtime wrote to ``path`` (if it did)."""
    try:
        pid = int(open(path).read().strip() or "0")  # noqa: SIM115 - tiny read
    except (FileNotFoundError, ValueError):
        return
    if pid > 0:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
