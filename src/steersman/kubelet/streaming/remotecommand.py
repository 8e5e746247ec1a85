"""exec and attach over a channel-protocol WebSocket: options, stream wiring, final status.

The query carries ``command`` (repeated), ``stdin``, ``stdout``, ``stderr`` and ``tty``
(kubelet ``pkg/kubelet/cri/streaming/remotecommand/options.go``): at least one stream must be
asked for; with a tty, stderr is dropped since the terminal merges it into stdout.

After the upgrade the server sends an empty message on the lowest output channel (clients
take it as "connected"), runs the command with the client's streams, and ends with one
status on the error channel — Success, NonZeroExitCode with the code as the cause, or a
Failure with the runtime's message — then closes the WebSocket. If the client goes away
first, the command is cancelled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from steersman.api import errors
from steersman.kubelet.streaming import channels
from steersman.kubelet.streaming.targets import ExecFailed, ExecIO, TerminalSize
from steersman.kubelet.streaming.wsstream import ChannelConnection

log = logging.getLogger(__name__)
Run = Callable[[ExecIO], Coroutine[Any, Any, int | None]]
_TRUE = ("true", "1")


@dataclass(frozen=True, slots=True)
class RemoteCommandOptions:
    command: tuple[str, ...]
    stdin: bool
    stdout: bool
    stderr: bool
    tty: bool


def _flag(query: Mapping[str, str], name: str) -> bool:
    return query.get(name, "").lower() in _TRUE


def remote_command_options(query: Any, *, exec_command: bool) -> RemoteCommandOptions:
    """Options from the request query (a MultiDict); 400 when they ask for nothing."""
    command = tuple(query.getall("command", ())) if exec_command else ()
    if exec_command and not command:
        raise errors.bad_request("you must specify a command to execute (the command query "
                                 "parameter)")
    tty = _flag(query, "tty")
    options = RemoteCommandOptions(command=command, stdin=_flag(query, "stdin"),
                                   stdout=_flag(query, "stdout"),
                                   stderr=_flag(query, "stderr") and not tty, tty=tty)
    if not (options.stdin or options.stdout or options.stderr):
        raise errors.bad_request("you must specify at least 1 of stdin, stdout, stderr")
    return options


async def serve_remote_command(request: web.Request, options: RemoteCommandOptions,
                               run: Run) -> web.StreamResponse:
    """Upgrade ``request``, run ``run`` wired to the client, and report how it ended."""
    connection = await ChannelConnection.accept(request, channels.REMOTE_COMMAND_PROTOCOLS)
    stdin = asyncio.StreamReader() if options.stdin else None
    io = ExecIO(tty=options.tty, stdin=stdin,
                stdout=connection.output(channels.STDOUT) if options.stdout else None,
                stderr=connection.output(channels.STDERR) if options.stderr else None,
                resizes=asyncio.Queue())
    await connection.send(_first_channel(options), b"")
    reader = asyncio.create_task(_read_client(connection, io))
    runner = asyncio.create_task(run(io))
    try:
        await asyncio.wait({reader, runner}, return_when=asyncio.FIRST_COMPLETED)
        if runner.done():
            await _report(connection, options, runner)
        else:
            runner.cancel()
    finally:
        for task in (reader, runner):
            task.cancel()
        await asyncio.gather(reader, runner, return_exceptions=True)
        await connection.close()
    return connection.response()


def _first_channel(options: RemoteCommandOptions) -> int:
    if options.stdout:
        return channels.STDOUT
    return channels.STDERR if options.stderr else channels.ERROR


async def _read_client(connection: ChannelConnection, io: ExecIO) -> None:
    """Feed stdin and resizes from the client until it closes; then stdin ends."""
    try:
        async for channel, payload in connection.messages():
            if channel == channels.STDIN and io.stdin is not None:
                if payload and not io.stdin.at_eof():
                    io.stdin.feed_data(payload)
            elif channel == channels.RESIZE:
                _resize(io, payload)
            elif (channel == channels.CLOSE and payload[:1] == bytes((channels.STDIN,))
                  and channels.supports_close_signal(connection.protocol)
                  and io.stdin is not None):
                io.stdin.feed_eof()
    finally:
        if io.stdin is not None and not io.stdin.at_eof():
            io.stdin.feed_eof()


def _resize(io: ExecIO, payload: bytes) -> None:
    try:
        size = orjson.loads(payload)
        io.resizes.put_nowait(TerminalSize(width=int(size.get("Width", 0)),
                                           height=int(size.get("Height", 0))))
    except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError):
        log.debug("ignoring a malformed resize message %r", payload[:100])


async def _report(connection: ChannelConnection, options: RemoteCommandOptions,
                  runner: asyncio.Task[int | None]) -> None:
    try:
        code = runner.result()
    except ExecFailed as exc:
        status = channels.failure_status(str(exc))
    except Exception as exc:
        log.exception("exec of %s failed", list(options.command))
        status = channels.failure_status(f"internal error: {type(exc).__name__}: {exc}")
    else:
        status = (channels.success_status() if not code
                  else channels.exit_code_status(options.command, code))
    payload = channels.encode_status(connection.protocol, status)
    if payload is not None:
        await connection.send(channels.ERROR, payload)
