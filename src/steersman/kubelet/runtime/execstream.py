"""Exec sessions: a subprocess (the command itself, or ``crun exec …``) behind ExecSession.

:func:`spawn_exec` starts the process with pipes, or with a pseudo-terminal when ``tty``
is asked for: the terminal's slave side becomes the process's stdin, stdout and stderr
(an OCI runtime passes these descriptors into the container unchanged, so the same code
serves both runtimes), and the master side is exposed as ``stdout`` (and ``stdin``).

:func:`collect` runs a session to completion for ``exec_sync``, with a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import signal
import struct
import subprocess
import termios
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from steersman.kubelet.runtime.interface import ExecResult, ExecSession, ExecTimeout


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
        on_kill: Callable[[], None] | None = None,
    ) -> None:
        self._proc = proc
        self._stdin, self._stdout, self._stderr = stdin, stdout, stderr
        self._terminal_fd = terminal_fd
        self._on_kill = on_kill

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
            fcntl.ioctl(self._terminal_fd, termios.TIOCSWINSZ, size)


async def spawn_exec(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    stdin: bool = False,
    tty: bool = False,
    on_kill: Callable[[], None] | None = None,
    **popen: Any,
) -> SubprocessExec:
    if tty:
        return await _spawn_tty(argv, env=env, cwd=cwd, on_kill=on_kill, **popen)
    proc = await asyncio.create_subprocess_exec(
        *argv, env=None if env is None else dict(env), cwd=cwd,
        stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    return SubprocessExec(
        proc, stdin=proc.stdin, stdout=proc.stdout, stderr=proc.stderr, on_kill=on_kill
    )


async def _spawn_tty(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None,
    cwd: str | None,
    on_kill: Callable[[], None] | None,
    **popen: Any,
) -> SubprocessExec:
    master, slave = pty.openpty()
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, env=None if env is None else dict(env), cwd=cwd,
            stdin=slave, stdout=slave, stderr=slave, start_new_session=True, **popen,
        )  # fmt: skip
    finally:
        os.close(slave)
    reader, writer, write_fd = await _terminal_streams(master)
    return SubprocessExec(
        proc, stdin=writer, stdout=reader, stderr=None, terminal_fd=write_fd, on_kill=on_kill
    )


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
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, os.fdopen(write_fd, "wb", 0)
    )
    writer = asyncio.StreamWriter(transport, protocol, None, loop)
    return reader, writer, write_fd


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
