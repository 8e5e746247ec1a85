"""Byte transports a SPDY session runs over: a raw upgraded HTTP connection, or WebSocket.

:func:`upgrade_raw` answers ``101 Switching Protocols`` to a request that asked for a
protocol aiohttp does not speak (``Upgrade: SPDY/3.1``) and takes the connection over:
received bytes are routed to a reader instead of aiohttp's HTTP parser, and writes go out
unframed. It installs its reader before the 101 is sent, since the client speaks the new
protocol as soon as it reads that answer.

:class:`WebSocketBytes` carries a byte stream in WebSocket binary messages, whose boundaries
mean nothing (client-go's tunnelling dialer for ``SPDY/3.1+portforward.k8s.io``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from aiohttp import WSMsgType, hdrs, web

_READ_CHUNK = 64 * 1024


class _Feed:
    """aiohttp's payload-parser interface, feeding an asyncio StreamReader."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self._reader.feed_data(data)
        return False, b""

    def feed_eof(self) -> None:
        if not self._reader.at_eof():
            self._reader.feed_eof()


class RawUpgrade:
    """An HTTP connection taken over after a 101 answer."""

    def __init__(self, response: web.StreamResponse, reader: asyncio.StreamReader) -> None:
        self.response = response
        self._reader = reader

    async def read(self) -> bytes:
        return await self._reader.read(_READ_CHUNK)

    async def write(self, data: bytes) -> None:
        await self.response.write(data)


async def upgrade_raw(request: web.Request, protocol: str,
                      headers: Mapping[str, str] = {}) -> RawUpgrade:
    """Answer 101 switching to ``protocol`` and own the connection from now on."""
    reader = asyncio.StreamReader()
    if request.protocol is None:
        raise ConnectionError("the client went away before the upgrade")
    request.protocol.set_parser(_Feed(reader))  # type: ignore[arg-type]
    response = web.StreamResponse(status=101, headers={
        hdrs.CONNECTION: "Upgrade", hdrs.UPGRADE: protocol, **headers})
    response.force_close()
    await response.prepare(request)
    return RawUpgrade(response, reader)


class WebSocketBytes:
    """A byte stream over the binary messages of an accepted WebSocket."""

    def __init__(self, socket: web.WebSocketResponse) -> None:
        self._socket = socket

    async def read(self) -> bytes:
        while True:
            message = await self._socket.receive()
            if message.type == WSMsgType.BINARY:
                if message.data:
                    return bytes(message.data)
            elif message.type != WSMsgType.TEXT:
                return b""

    async def write(self, data: bytes) -> None:
        if not self._socket.closed:
            await self._socket.send_bytes(data)
