"""The server side of a Kubernetes channel-protocol WebSocket (v5, v4 and the older ones).

:meth:`ChannelConnection.accept` upgrades a request, choosing the first of the client's
offered subprotocols that the caller serves (no subprotocol at all is the channel-less v1
behaviour, which client-go falls back to). Each binary message is a channel byte and a
payload; a text message is read the same way, since the Python client sends ``str`` stdin as
text frames. Pings are answered by aiohttp.

:meth:`ChannelConnection.messages` yields ``(channel, payload)`` until the client closes;
:meth:`ChannelConnection.send` writes one message; sends are serialised so that frames of
concurrent writers never interleave, and a send after the client left is dropped, since
nobody is there to read it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from aiohttp import WSMsgType, web

from steersman.kubelet.streaming.targets import Output

# A generous bound on one client message (kubectl cp sends stdin in 32 KiB pieces).
MAX_MESSAGE_BYTES = 16 * 1024 * 1024


class ChannelConnection:
    """One upgraded WebSocket speaking a channel protocol."""

    def __init__(self, socket: web.WebSocketResponse) -> None:
        self._socket = socket
        self._send_lock = asyncio.Lock()

    @classmethod
    async def accept(cls, request: web.Request, protocols: Sequence[str]) -> ChannelConnection:
        socket = web.WebSocketResponse(protocols=tuple(protocols), max_msg_size=MAX_MESSAGE_BYTES,
                                       compress=False)
        await socket.prepare(request)
        return cls(socket)

    @property
    def protocol(self) -> str:
        """The negotiated subprotocol; "" when the client offered none we serve."""
        return self._socket.ws_protocol or ""

    @property
    def closed(self) -> bool:
        return self._socket.closed

    async def messages(self) -> AsyncIterator[tuple[int, bytes]]:
        """``(channel, payload)`` of each data message until the client closes."""
        async for message in self._socket:
            if message.type == WSMsgType.BINARY:
                data = bytes(message.data)
            elif message.type == WSMsgType.TEXT:
                data = str(message.data).encode()
            else:
                break
            if data:
                yield data[0], data[1:]

    async def send(self, channel: int, payload: bytes) -> None:
        async with self._send_lock:
            if self._socket.closed:
                return
            try:
                await self._socket.send_bytes(bytes((channel,)) + payload)
            except (ConnectionError, RuntimeError):
                return

    def output(self, channel: int) -> Output:
        """A writer for one channel, for :class:`~.targets.ExecIO`."""

        async def write(data: bytes) -> None:
            if data:
                await self.send(channel, data)

        return write

    async def close(self) -> None:
        async with self._send_lock:
            if not self._socket.closed:
                try:
                    await self._socket.close()
                except (ConnectionError, RuntimeError):
                    return

    def response(self) -> web.WebSocketResponse:
        """What the aiohttp handler returns once the conversation is over."""
        return self._socket
