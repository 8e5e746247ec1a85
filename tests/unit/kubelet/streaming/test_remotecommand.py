"""exec over the WebSocket channel protocols, against an in-process aiohttp server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import orjson
import pytest
from aiohttp import web

from steersman.kubelet.streaming import channels
from steersman.kubelet.streaming.remotecommand import (
    remote_command_options,
    serve_remote_command,
)
from steersman.kubelet.streaming.targets import ExecFailed, ExecIO

Run = Callable[[ExecIO], Awaitable[int | None]]


async def _echo(io: ExecIO) -> int:
    """cat with a twist: stdin to stdout, a note on stderr, exit 3 if it read 'fail'."""
    assert io.stdin is not None and io.stdout is not None
    seen = b""
    while chunk := await io.stdin.read(100):
        seen += chunk
        await io.stdout(chunk)
    if io.stderr is not None:
        await io.stderr(b"done\n")
    return 3 if b"fail" in seen else 0


async def _broken(io: ExecIO) -> int:
    raise ExecFailed('exec: "nope": executable file not found in $PATH')


@pytest.fixture
async def url() -> AsyncIterator[str]:
    runs: dict[str, Run] = {"echo": _echo, "broken": _broken}

    async def handler(request: web.Request) -> web.StreamResponse:
        options = remote_command_options(request.query, exec_command=True)

        async def run(io: ExecIO) -> int | None:
            return await runs[options.command[0]](io)

        return await serve_remote_command(request, options, run)

    app = web.Application()
    app.router.add_get("/exec", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/exec"
    await runner.cleanup()


async def _session(url: str, protocol: str, command: str, sends: list[bytes],
                   ) -> tuple[str, dict[int, bytes]]:
    received: dict[int, bytes] = {}
    query = f"?command={command}&stdin=true&stdout=true&stderr=true"
    async with aiohttp.ClientSession() as session, session.ws_connect(
            url + query, protocols=(protocol,)) as ws:
        for message in sends:
            await ws.send_bytes(message)
        async for frame in ws:
            data = bytes(frame.data)
            received[data[0]] = received.get(data[0], b"") + data[1:]
        return ws.protocol or "", received


async def test_v5_close_signal_ends_stdin_and_reports_success(url: str) -> None:
    protocol, got = await _session(url, channels.V5, "echo", [b"\x00hello ", b"\x00world",
                                                              b"\xff\x00"])
    assert protocol == channels.V5
    assert got[channels.STDOUT] == b"hello world"
    assert got[channels.STDERR] == b"done\n"
    assert orjson.loads(got[channels.ERROR]) == {"metadata": {}, "status": "Success"}


async def test_non_zero_exit_code_is_a_structured_status(url: str) -> None:
    _, got = await _session(url, channels.V5, "echo", [b"\x00fail", b"\xff\x00"])
    status = orjson.loads(got[channels.ERROR])
    assert status["reason"] == "NonZeroExitCode"
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]
    assert status["message"] == ("command terminated with non-zero exit code: error executing "
                                 "command [echo], exit code 3")


async def test_v4_ignores_the_close_signal_and_ends_stdin_when_the_client_leaves(
        url: str) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(
            url + "?command=echo&stdin=true&stdout=true", protocols=(channels.V4,)) as ws:
        await ws.send_bytes(b"\x00abc")
        await ws.send_bytes(b"\xff\x00")
        first = await ws.receive_bytes()
        assert first == bytes([channels.STDOUT])
        assert await ws.receive_bytes() == b"\x01abc"
    assert ws.protocol == channels.V4


async def test_runtime_failures_are_failure_statuses_and_v1_sends_bare_text(url: str) -> None:
    _, got = await _session(url, channels.V4, "broken", [])
    assert orjson.loads(got[channels.ERROR])["message"].startswith('exec: "nope"')
    protocol, got = await _session(url, channels.V1, "broken", [])
    assert protocol == channels.V1
    assert got[channels.ERROR].startswith(b'exec: "nope"')


def test_options_need_a_stream_and_drop_stderr_with_a_tty() -> None:
    from multidict import MultiDict

    from steersman.api.errors import StatusError

    options = remote_command_options(MultiDict(
        [("command", "sh"), ("command", "-c"), ("stdout", "true"), ("stderr", "true"),
         ("tty", "true")]), exec_command=True)
    assert options.command == ("sh", "-c") and options.tty and not options.stderr
    with pytest.raises(StatusError, match="at least 1 of stdin, stdout, stderr"):
        remote_command_options(MultiDict([("command", "ls")]), exec_command=True)
    with pytest.raises(StatusError, match="specify a command"):
        remote_command_options(MultiDict([("stdout", "1")]), exec_command=True)
