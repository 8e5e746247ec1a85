"""A SPDY/3.1 server session over any byte transport (a raw upgraded connection or WebSocket).

The client opens streams (odd ids) with SYN_STREAM; :class:`SpdySession` hands each new
:class:`SpdyStream` to ``on_stream``, whose owner answers it (:meth:`SpdyStream.reply`),
reads what the client sends (``stream.reader``, which ends on the client's FIN or
RST_STREAM) and writes back (:meth:`SpdyStream.write`, :meth:`SpdyStream.close` for FIN,
:meth:`SpdyStream.reset`). PINGs from the client are echoed, SETTINGS and WINDOW_UPDATE are
applied, GOAWAY stops new streams, and the session ends when the transport does — then every
stream's reader ends and the ``on_stream`` tasks still running are cancelled by the owner.

Flow control (SPDY/3.1): received data is acknowledged with WINDOW_UPDATE (per stream and for
the session) once half a window has been taken. The send windows are honoured as soon as the
peer shows it takes part — it sent SETTINGS with an initial window, or a WINDOW_UPDATE;
moby/spdystream, on which kubectl and client-go are built, does neither and ignores windows,
so holding data back for it would stall every transfer after 64 KiB.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from steersman.kubelet.streaming import spdy_frames as f

log = logging.getLogger(__name__)
DEFAULT_WINDOW = 64 * 1024
MAX_DATA_CHUNK = 32 * 1024


class ByteTransport(Protocol):
    """What a session runs over: a byte stream in each direction."""

    async def read(self) -> bytes:
        """The next bytes; b"" at the end."""
        ...

    async def write(self, data: bytes) -> None: ...


class SpdyStream:
    """One client-initiated stream, as its handler sees it."""

    def __init__(self, session: SpdySession, frame: f.SynStream) -> None:
        self._session = session
        self.stream_id = frame.stream_id
        self.headers = frame.headers
        self.reader = asyncio.StreamReader()
        self.send_window = session.initial_send_window
        self.window_open = asyncio.Event()
        self.window_open.set()
        self.unacknowledged = 0
        self.local_closed = False
        self.remote_closed = False
        self.reset_by_peer = False
        if frame.fin:
            self.finish_remote()

    def header(self, name: str) -> str:
        values = self.headers.get(name.lower()) or [""]
        return values[0]

    async def reply(self) -> None:
        await self._session.send(f.SynReply(self.stream_id, {}))

    async def write(self, data: bytes) -> None:
        """Send ``data`` in DATA frames, within the flow-control windows when they apply."""
        view = memoryview(data)
        while view and not self.local_closed and not self.reset_by_peer:
            size = await self._session.reserve(self, min(len(view), MAX_DATA_CHUNK))
            if size <= 0:
                return
            await self._session.send(f.DataFrame(self.stream_id, bytes(view[:size])))
            view = view[size:]

    async def close(self) -> None:
        """Half-close: an empty DATA frame with FIN."""
        if not self.local_closed and not self.reset_by_peer:
            self.local_closed = True
            await self._session.send(f.DataFrame(self.stream_id, b"", fin=True))
            self._session.forget_if_done(self)

    async def reset(self, status: int = f.CANCEL) -> None:
        if not self.reset_by_peer:
            self.local_closed = True
            await self._session.send(f.RstStream(self.stream_id, status))
        self._session.forget(self)

    def finish_remote(self) -> None:
        """The peer sends nothing more on this stream."""
        if not self.remote_closed:
            self.remote_closed = True
            self.reader.feed_eof()

    def peer_reset(self) -> None:
        self.reset_by_peer = True
        self.finish_remote()
        self.window_open.set()


class SpdySession:
    """The server half of one SPDY/3.1 connection."""

    def __init__(self, transport: ByteTransport, on_stream: Callable[[SpdyStream], None]) -> None:
        self._transport = transport
        self._on_stream = on_stream
        self._parser = f.FrameParser()
        self._encoder = f.FrameEncoder()
        self._write_lock = asyncio.Lock()
        self._streams: dict[int, SpdyStream] = {}
        self._last_stream_id = 0
        self._going_away = False
        self._flow_control = False
        self.initial_send_window = DEFAULT_WINDOW
        self._session_window = DEFAULT_WINDOW
        self._session_window_open = asyncio.Event()
        self._session_window_open.set()
        self._session_unacknowledged = 0
        self.closed = False

    async def run(self) -> None:
        """Read and dispatch frames until the transport ends or the peer breaks protocol."""
        try:
            while data := await self._transport.read():
                for frame in self._parser.feed(data):
                    await self._dispatch(frame)
        except f.ProtocolError as exc:
            log.info("closing a SPDY session: %s", exc)
            await self.send(f.GoAway(self._last_stream_id, 1))
        finally:
            self._end()

    def _end(self) -> None:
        self.closed = True
        for stream in list(self._streams.values()):
            stream.peer_reset()
        self._streams.clear()
        self._session_window_open.set()

    async def send(self, frame: f.Frame) -> None:
        async with self._write_lock:
            if self.closed:
                return
            try:
                await self._transport.write(self._encoder.encode(frame))
            except (ConnectionError, RuntimeError):
                self._end()

    async def _dispatch(self, frame: f.Frame) -> None:
        match frame:
            case f.DataFrame():
                await self._data(frame)
            case f.SynStream():
                await self._syn_stream(frame)
            case f.RstStream():
                stream = self._streams.pop(frame.stream_id, None)
                if stream is not None:
                    stream.peer_reset()
            case f.Ping():
                if frame.ping_id % 2 == 1:
                    await self.send(frame)
            case f.GoAway():
                self._going_away = True
            case f.Settings():
                self._settings(frame)
            case f.WindowUpdate():
                self._window_update(frame)
            case f.HeadersFrame() if frame.fin:
                self._remote_fin(frame.stream_id)

    async def _syn_stream(self, frame: f.SynStream) -> None:
        if (self._going_away or frame.stream_id % 2 == 0
                or frame.stream_id <= self._last_stream_id):
            await self.send(f.RstStream(frame.stream_id, f.PROTOCOL_ERROR if frame.stream_id
                                        <= self._last_stream_id else f.REFUSED_STREAM))
            return
        self._last_stream_id = frame.stream_id
        stream = SpdyStream(self, frame)
        self._streams[frame.stream_id] = stream
        self._on_stream(stream)

    async def _data(self, frame: f.DataFrame) -> None:
        stream = self._streams.get(frame.stream_id)
        if stream is None:
            return
        if frame.data and not stream.remote_closed:
            stream.reader.feed_data(frame.data)
        await self._acknowledge(stream, len(frame.data))
        if frame.fin:
            self._remote_fin(frame.stream_id)

    def _remote_fin(self, stream_id: int) -> None:
        stream = self._streams.get(stream_id)
        if stream is not None:
            stream.finish_remote()
            self.forget_if_done(stream)

    async def _acknowledge(self, stream: SpdyStream, size: int) -> None:
        stream.unacknowledged += size
        self._session_unacknowledged += size
        if stream.unacknowledged >= DEFAULT_WINDOW // 2 and not stream.remote_closed:
            await self.send(f.WindowUpdate(stream.stream_id, stream.unacknowledged))
            stream.unacknowledged = 0
        if self._session_unacknowledged >= DEFAULT_WINDOW // 2:
            await self.send(f.WindowUpdate(0, self._session_unacknowledged))
            self._session_unacknowledged = 0

    def _settings(self, frame: f.Settings) -> None:
        window = frame.values.get(f.SETTINGS_INITIAL_WINDOW_SIZE)
        if window is None:
            return
        self._flow_control = True
        for stream in self._streams.values():
            stream.send_window += window - self.initial_send_window
        self.initial_send_window = window

    def _window_update(self, frame: f.WindowUpdate) -> None:
        self._flow_control = True
        if frame.stream_id == 0:
            self._session_window += frame.delta
            self._session_window_open.set()
            return
        stream = self._streams.get(frame.stream_id)
        if stream is not None:
            stream.send_window += frame.delta
            stream.window_open.set()

    async def reserve(self, stream: SpdyStream, wanted: int) -> int:
        """How many bytes ``stream`` may send now (waiting for a window); 0: it is over."""
        if not self._flow_control:
            return 0 if self.closed else wanted
        while not self.closed and not stream.reset_by_peer:
            size = min(wanted, stream.send_window, self._session_window)
            if size > 0:
                stream.send_window -= size
                self._session_window -= size
                return size
            event = stream.window_open if stream.send_window <= 0 else self._session_window_open
            event.clear()
            await event.wait()
        return 0

    def forget_if_done(self, stream: SpdyStream) -> None:
        if stream.local_closed and stream.remote_closed:
            self.forget(stream)

    def forget(self, stream: SpdyStream) -> None:
        self._streams.pop(stream.stream_id, None)
