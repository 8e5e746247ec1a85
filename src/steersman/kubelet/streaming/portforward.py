"""Port-forward to a pod: over SPDY/3.1 (kubectl) and over the WebSocket channel protocol.

SPDY (kubelet ``pkg/kubelet/cri/streaming/portforward/httpstream.go``): for each local
connection the client opens two streams with headers ``streamtype: error|data``, ``port``
and ``requestid``; once both of a request id are there, the data stream is piped to the
pod's port and the error stream stays silent — unless the port cannot be reached, when the
error text is written on it. Both streams end with FIN. A pair left incomplete for
:data:`PAIR_TIMEOUT` seconds is reset.

WebSocket channel protocol (kubelet ``portforward/websocket.go``; the Python client):
``?ports=a,b`` — port *i* owns data channel ``2i`` and error channel ``2i+1``, and the
server's first message on each is the channel byte and the port as uint16 little-endian.
Every port is dialled at once; an unreachable one gets its error text. The WebSocket closes
when every port's connection has ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from steersman.api import errors
from steersman.kubelet.streaming import channels
from steersman.kubelet.streaming.spdy import ByteTransport, SpdySession, SpdyStream
from steersman.kubelet.streaming.targets import PodTarget
from steersman.kubelet.streaming.transports import WebSocketBytes, upgrade_raw
from steersman.kubelet.streaming.wsstream import MAX_MESSAGE_BYTES, ChannelConnection

log = logging.getLogger(__name__)
PAIR_TIMEOUT = 30.0
_CHUNK = 32 * 1024


def _error_text(pod: PodTarget, port: int, exc: BaseException) -> str:
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return (f"error forwarding port {port} to pod {pod.namespace}/{pod.name}, uid {pod.uid}: "
            f"failed to connect to localhost:{port} inside the pod: {reason}")


# -- SPDY -----------------------------------------------------------------------------------


@dataclass
class _Pair:
    data: SpdyStream | None = None
    error: SpdyStream | None = None
    timer: asyncio.TimerHandle | None = None


@dataclass
class _SpdyForwarder:
    pod: PodTarget
    pairs: dict[str, _Pair] = field(default_factory=dict)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def on_stream(self, stream: SpdyStream) -> None:
        self._spawn(self._accept(stream))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _accept(self, stream: SpdyStream) -> None:
        await stream.reply()
        kind, request_id = stream.header("streamtype"), stream.header("requestid")
        if kind not in ("data", "error"):
            await stream.reset()
            return
        pair = self.pairs.setdefault(request_id, _Pair())
        setattr(pair, kind, stream)
        if pair.data is not None and pair.error is not None:
            if pair.timer is not None:
                pair.timer.cancel()
            del self.pairs[request_id]
            await self._forward(pair.data, pair.error)
        elif pair.timer is None:
            loop = asyncio.get_running_loop()
            pair.timer = loop.call_later(PAIR_TIMEOUT, self._expire, request_id)

    def _expire(self, request_id: str) -> None:
        pair = self.pairs.pop(request_id, None)
        if pair is not None:
            for stream in (pair.data, pair.error):
                if stream is not None:
                    self._spawn(stream.reset())

    async def _forward(self, data: SpdyStream, error: SpdyStream) -> None:
        try:
            port = int(data.header("port"))
            reader, writer = await self.pod.connect(port)
        except (OSError, ValueError) as exc:
            port_text = data.header("port")
            message = (_error_text(self.pod, int(port_text), exc) if port_text.isdigit()
                       else f'invalid port "{port_text}"')
            await error.write(message.encode())
            await error.close()
            await data.close()
            return
        try:
            await _pipe_spdy(data, reader, writer)
        finally:
            writer.close()
            await error.close()
            await data.close()

    async def close(self) -> None:
        for pair in self.pairs.values():
            if pair.timer is not None:
                pair.timer.cancel()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def _pipe_spdy(stream: SpdyStream, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
    """Client → pod until the client's FIN, pod → client until the pod closes."""

    async def upstream() -> None:
        while chunk := await stream.reader.read(_CHUNK):
            writer.write(chunk)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()

    sending = asyncio.create_task(upstream())
    try:
        while (chunk := await reader.read(_CHUNK)) and not stream.reset_by_peer:
            await stream.write(chunk)
    except ConnectionError:
        pass
    finally:
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)


async def run_spdy(transport: ByteTransport, pod: PodTarget) -> None:
    """Serve port-forward streams over ``transport`` until it ends."""
    forwarder = _SpdyForwarder(pod)
    session = SpdySession(transport, forwarder.on_stream)
    try:
        await session.run()
    finally:
        await forwarder.close()


async def serve_spdy_upgrade(request: web.Request, pod: PodTarget) -> web.StreamResponse:
    """``POST`` + ``Upgrade: SPDY/3.1``: SPDY straight on the connection."""
    offered = request.headers.getall("X-Stream-Protocol-Version", [])
    if offered and channels.SPDY_PORT_FORWARD_PROTOCOL not in offered:
        raise errors.StatusError(403, "Forbidden", "unable to upgrade: unable to negotiate "
                                 f"protocol: client supports {offered}, server supports "
                                 f"[{channels.SPDY_PORT_FORWARD_PROTOCOL}]")
    raw = await upgrade_raw(request, "SPDY/3.1", {
        "X-Stream-Protocol-Version": channels.SPDY_PORT_FORWARD_PROTOCOL})
    await run_spdy(raw, pod)
    return raw.response


# -- WebSocket -----------------------------------------------------------------------------


def ports_of(request: web.Request) -> list[int]:
    texts = [p for value in request.query.getall("ports", []) for p in value.split(",") if p]
    try:
        ports = [int(text) for text in texts]
    except ValueError:
        raise errors.bad_request(f"invalid port list {texts}") from None
    if any(not 0 < port < 65536 for port in ports):
        raise errors.bad_request(f"ports must be between 1 and 65535: {ports}")
    return ports


async def serve_websocket(request: web.Request, pod: PodTarget) -> web.StreamResponse:
    """A WebSocket port-forward: SPDY tunnelled in it, or the channel protocol."""
    protocols = (channels.SPDY_PORT_FORWARD_TUNNEL, *channels.PORT_FORWARD_WS_PROTOCOLS)
    offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
    ports = [] if channels.SPDY_PORT_FORWARD_TUNNEL in offered else ports_of(request)
    if channels.SPDY_PORT_FORWARD_TUNNEL not in offered and not ports:
        raise errors.bad_request("query parameter \"ports\" is required")
    socket = web.WebSocketResponse(protocols=protocols, max_msg_size=MAX_MESSAGE_BYTES,
                                   compress=False)
    await socket.prepare(request)
    try:
        if socket.ws_protocol == channels.SPDY_PORT_FORWARD_TUNNEL:
            await run_spdy(WebSocketBytes(socket), pod)
        else:
            await _ChannelForwarder(ChannelConnection(socket), pod, ports).run()
    finally:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await socket.close()
    return socket


class _ChannelForwarder:
    """Ports multiplexed on data/error channel pairs of one WebSocket."""

    def __init__(self, connection: ChannelConnection, pod: PodTarget, ports: list[int]) -> None:
        self._connection = connection
        self._pod = pod
        self._ports = ports
        self._writers: dict[int, asyncio.StreamWriter] = {}
        self._pending: dict[int, list[bytes]] = {index: [] for index in range(len(ports))}

    async def run(self) -> None:
        for index, port in enumerate(self._ports):
            header = struct.pack("<H", port)
            await self._connection.send(2 * index, header)
            await self._connection.send(2 * index + 1, header)
        client = asyncio.create_task(self._from_client())
        ports = asyncio.create_task(self._forward_all())
        try:
            await asyncio.wait({client, ports}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            client.cancel()
            ports.cancel()
            await asyncio.gather(client, ports, return_exceptions=True)
            for writer in self._writers.values():
                writer.close()

    async def _forward_all(self) -> None:
        await asyncio.gather(*(self._forward(i) for i in range(len(self._ports))))

    async def _from_client(self) -> None:
        async for channel, payload in self._connection.messages():
            index = channel // 2
            if channel % 2 or index >= len(self._ports) or not payload:
                continue
            writer = self._writers.get(index)
            if writer is None:
                self._pending[index].append(payload)
            elif not writer.is_closing():
                writer.write(payload)
                await writer.drain()

    async def _forward(self, index: int) -> None:
        port = self._ports[index]
        try:
            reader, writer = await self._pod.connect(port)
        except OSError as exc:
            await self._connection.send(2 * index + 1, _error_text(self._pod, port, exc).encode())
            return
        self._writers[index] = writer
        for payload in self._pending.pop(index, []):
            writer.write(payload)
        try:
            while chunk := await reader.read(_CHUNK):
                await self._connection.send(2 * index, chunk)
        except ConnectionError:
            return
        finally:
            writer.close()
