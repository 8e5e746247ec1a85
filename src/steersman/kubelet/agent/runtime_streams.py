"""exec and attach for the streaming server, over the runtime service's exec sessions.

:class:`RuntimeStreams` is the :class:`~steersman.kubelet.streaming.StreamingRuntime` of a
real node: ``exec`` opens an :class:`~steersman.kubelet.runtime.interface.ExecSession`
(pipes, or a pseudo-terminal with ``tty``) and wires it to the client — stdin until the
client closes it, stdout and stderr, terminal resizes — and returns the exit code once the
process has exited and its output has drained (at most :data:`DRAIN_SECONDS` more: a
background child may keep the pipes open). A client that leaves kills the process.

``attach`` streams the container's main process output: the runtimes keep it only in the
container's CRI log, so attach follows that log from now until the container stops. With
stdin (``-i``) it also feeds the client's input into the stdin the runtime holds open for a
container created with ``stdin: true`` (the process runtime; crun and runc refuse, as
does a container without ``stdin``), until the client closes it — which, with
``stdinOnce``, closes the container's stdin. A terminal (``-t``) is refused.

Runtime refusals become :class:`~steersman.kubelet.streaming.ExecFailed` with the message
the user reads (``exec: "nope": executable file not found in $PATH``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from pathlib import Path

from steersman.kubelet.runtime import interface as rt
from steersman.kubelet.streaming import ExecFailed, ExecIO
from steersman.kubelet.streaming.logs import follow_output
from steersman.kubelet.streaming.targets import Output

DRAIN_SECONDS = 2.0
_CHUNK = 64 * 1024


class RuntimeStreams:
    """exec and attach on a :class:`~steersman.kubelet.runtime.interface.RuntimeService`."""

    def __init__(self, service: rt.RuntimeService) -> None:
        self._service = service

    async def exec(self, container_id: str, command: Sequence[str], io: ExecIO) -> int:
        session = await self._open(container_id, command, io)
        return await _run(session, io)

    async def attach(self, container_id: str, io: ExecIO) -> None:
        if io.tty:
            raise ExecFailed("attach with a terminal is not supported: this node's runtimes "
                             "give a container's main process no terminal; attach without -t")
        status = await self._status(container_id)
        if not status.log_path:
            raise ExecFailed(f"container {status.name} keeps no log to attach to")
        stdin = None if io.stdin is None else await self._attach_stdin(container_id)
        # Only scheduled: it first runs once follow_output has taken the log's end, so the
        # output of what it feeds is never skipped.
        feeding = asyncio.create_task(_feed(io.stdin, stdin))
        try:
            await follow_output(Path(status.log_path), stdout=io.stdout, stderr=io.stderr,
                                running=lambda: self._running(container_id))
        finally:
            feeding.cancel()
            await asyncio.gather(feeding, return_exceptions=True)
            if stdin is not None:
                stdin.close()

    async def _attach_stdin(self, container_id: str) -> asyncio.StreamWriter:
        try:
            return await self._service.attach_stdin(container_id)
        except rt.ContainerRuntimeError as err:
            raise ExecFailed(f"cannot attach to the stdin of container {container_id}: {err}"
                             ) from None

    async def _open(self, container_id: str, command: Sequence[str],
                    io: ExecIO) -> rt.ExecSession:
        try:
            return await self._service.exec(container_id, command, stdin=io.stdin is not None,
                                            tty=io.tty)
        except FileNotFoundError:
            raise ExecFailed(f'exec: "{command[0]}": executable file not found in $PATH'
                             ) from None
        except OSError as err:
            raise ExecFailed(f'exec: "{command[0]}": {err.strerror or err}') from None
        except rt.ContainerRuntimeError as err:
            raise ExecFailed(f"cannot exec in container {container_id}: {err}") from None

    async def _status(self, container_id: str) -> rt.ContainerStatus:
        try:
            return await self._service.container_status(container_id)
        except rt.NotFound:
            raise ExecFailed(f"container {container_id} not found") from None

    async def _running(self, container_id: str) -> bool:
        try:
            status = await self._service.container_status(container_id)
        except rt.NotFound:
            return False
        return status.state is rt.ContainerState.RUNNING


async def _run(session: rt.ExecSession, io: ExecIO) -> int:
    """Wire ``session`` to ``io`` until it exits; its exit code. Cancelled: kill it."""
    outputs = [asyncio.create_task(_copy(session.stdout, io.stdout))]
    if session.stderr is not None:
        outputs.append(asyncio.create_task(_copy(session.stderr, io.stderr)))
    inputs = [asyncio.create_task(_feed(io.stdin, session.stdin)),
              asyncio.create_task(_resize(io, session))]
    code: int | None = None
    try:
        code = await session.wait()
        await asyncio.wait(outputs, timeout=DRAIN_SECONDS)
        return code
    finally:
        if code is None:
            session.kill()
        for task in (*outputs, *inputs):
            task.cancel()
        await asyncio.gather(*outputs, *inputs, return_exceptions=True)


async def _copy(source: asyncio.StreamReader, write: Output | None) -> None:
    while chunk := await source.read(_CHUNK):
        if write is not None:
            await write(chunk)


async def _feed(source: asyncio.StreamReader | None, sink: asyncio.StreamWriter | None) -> None:
    """The client's stdin to the process; its end closes the process's stdin."""
    if source is None or sink is None:
        return
    with contextlib.suppress(ConnectionError):
        while chunk := await source.read(_CHUNK):
            sink.write(chunk)
            await sink.drain()
        sink.close()


async def _resize(io: ExecIO, session: rt.ExecSession) -> None:
    while True:
        size = await io.resizes.get()
        if io.tty and size.width and size.height:
            session.resize(rows=size.height, cols=size.width)
