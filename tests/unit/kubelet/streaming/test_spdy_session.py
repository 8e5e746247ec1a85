"""The SPDY/3.1 server session and port-forward over it, driven frame by frame."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from steersman.kubelet.streaming import spdy_frames as f
from steersman.kubelet.streaming.portforward import run_spdy
from steersman.kubelet.streaming.spdy import DEFAULT_WINDOW, SpdySession, SpdyStream
from steersman.kubelet.streaming.targets import Connection, PodTarget


class Pipe:
    """The server's transport; the test plays the client with its own encoder and parser."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue[bytes] = asyncio.Queue()
        self.outgoing: asyncio.Queue[f.Frame] = asyncio.Queue()
        self.client = f.FrameEncoder()
        self._parser = f.FrameParser()

    async def read(self) -> bytes:
        return await self.incoming.get()

    async def write(self, data: bytes) -> None:
        for frame in self._parser.feed(data):
            self.outgoing.put_nowait(frame)

    def send(self, *frames: f.Frame) -> None:
        for frame in frames:
            self.incoming.put_nowait(self.client.encode(frame))

    async def next(self) -> f.Frame:
        return await asyncio.wait_for(self.outgoing.get(), 2)


async def test_pings_are_echoed_and_streams_reach_the_handler() -> None:
    pipe, streams = Pipe(), list[SpdyStream]()
    session = SpdySession(pipe, streams.append)
    running = asyncio.create_task(session.run())
    pipe.send(f.Ping(1), f.SynStream(1, {"a": ["b"]}), f.DataFrame(1, b"xy", fin=True))
    assert await pipe.next() == f.Ping(1)
    await asyncio.sleep(0.01)
    (stream,) = streams
    assert stream.header("A") == "b"
    assert await stream.reader.read() == b"xy"
    await stream.reply()
    await stream.write(b"back")
    await stream.close()
    assert [await pipe.next() for _ in range(3)] == [
        f.SynReply(1, {}), f.DataFrame(1, b"back"), f.DataFrame(1, b"", fin=True)]
    pipe.send(f.SynStream(1, {}))
    assert await pipe.next() == f.RstStream(1, f.PROTOCOL_ERROR)
    pipe.incoming.put_nowait(b"")
    await running


async def test_receive_windows_are_acknowledged() -> None:
    pipe, streams = Pipe(), list[SpdyStream]()
    running = asyncio.create_task(SpdySession(pipe, streams.append).run())
    pipe.send(f.SynStream(1, {}), *[f.DataFrame(1, b"z" * 8192) for _ in range(4)])
    assert await pipe.next() == f.WindowUpdate(1, DEFAULT_WINDOW // 2)
    assert await pipe.next() == f.WindowUpdate(0, DEFAULT_WINDOW // 2)
    pipe.incoming.put_nowait(b"")
    await running


async def test_send_windows_apply_once_the_peer_takes_part() -> None:
    pipe, streams = Pipe(), list[SpdyStream]()
    running = asyncio.create_task(SpdySession(pipe, streams.append).run())
    pipe.send(f.Settings({f.SETTINGS_INITIAL_WINDOW_SIZE: 10}), f.SynStream(1, {}))
    await asyncio.sleep(0.01)
    stream: SpdyStream = streams[0]
    writing = asyncio.create_task(stream.write(b"0123456789abcdef"))
    assert await pipe.next() == f.DataFrame(1, b"0123456789")
    await asyncio.sleep(0.01)
    assert not writing.done()
    pipe.send(f.WindowUpdate(1, 100))
    assert await pipe.next() == f.DataFrame(1, b"abcdef")
    await writing
    pipe.incoming.put_nowait(b"")
    await running


async def test_without_flow_control_from_the_peer_nothing_is_held_back() -> None:
    pipe, streams = Pipe(), list[SpdyStream]()
    running = asyncio.create_task(SpdySession(pipe, streams.append).run())
    pipe.send(f.SynStream(1, {}))
    await asyncio.sleep(0.01)
    await asyncio.wait_for(streams[0].write(b"q" * (3 * DEFAULT_WINDOW)), 2)
    pipe.incoming.put_nowait(b"")
    await running


@pytest.fixture
async def echo_port() -> AsyncIterator[int]:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"echo:" + await reader.read())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()


async def _connect(port: int) -> Connection:
    return await asyncio.open_connection("127.0.0.1", port)


async def test_port_forward_pairs_streams_by_request_id(echo_port: int) -> None:
    pipe = Pipe()
    pod = PodTarget("ns", "p", "u", {}, _connect)
    serving = asyncio.create_task(run_spdy(pipe, pod))
    pipe.send(f.SynStream(1, {"streamtype": ["error"], "port": [str(echo_port)],
                              "requestid": ["0"]}),
              f.DataFrame(1, b"", fin=True),
              f.SynStream(3, {"streamtype": ["data"], "port": [str(echo_port)],
                              "requestid": ["0"]}),
              f.DataFrame(3, b"ping", fin=True))
    frames = [await pipe.next() for _ in range(5)]
    assert f.SynReply(1, {}) in frames and f.SynReply(3, {}) in frames
    assert f.DataFrame(3, b"echo:ping") in frames
    assert f.DataFrame(3, b"", fin=True) in frames and f.DataFrame(1, b"", fin=True) in frames
    pipe.incoming.put_nowait(b"")
    await serving


async def test_port_forward_to_a_closed_port_writes_the_error() -> None:
    with __import__("socket").socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    pipe = Pipe()
    serving = asyncio.create_task(run_spdy(pipe, PodTarget("ns", "p", "u", {}, _connect)))
    pipe.send(f.SynStream(1, {"streamtype": ["error"], "port": [str(closed)],
                              "requestid": ["7"]}),
              f.SynStream(3, {"streamtype": ["data"], "port": [str(closed)],
                              "requestid": ["7"]}))
    frames = [await pipe.next() for _ in range(5)]
    errors = [fr for fr in frames if isinstance(fr, f.DataFrame) and fr.stream_id == 1 and fr.data]
    assert errors and b"error forwarding port" in errors[0].data
    pipe.incoming.put_nowait(b"")
    await serving
