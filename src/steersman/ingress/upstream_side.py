"""The upstream half of an exchange: one connection to an endpoint, pooled between requests.

:class:`UpstreamSide` is handed a request by a
:class:`~steersman.ingress.exchange.ClientSide`, reads the response head (skipping interim
1xx answers), writes it to the client with the body's first bytes, then passes the body on
as it arrives until its :class:`~steersman.ingress.http1.BodyTracker` says it is complete,
and gives itself back (:meth:`ClientSide.finished`). A ``101`` to an upgrade request makes
it a tunnel. If it closes before a response head, the client side decides between a retry,
502 and 504 (``timed_out``).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from steersman.ingress.http1 import (
    MAX_HEAD,
    BadMessage,
    BodyTracker,
    Framing,
    Head,
    encode_head,
    parse_head,
)
from steersman.ingress.upstreams import Endpoint

if TYPE_CHECKING:
    from steersman.ingress.exchange import ClientSide, Core, Request

_RESPONSE_DROPPED = frozenset({b"connection", b"keep-alive"})
_RESPONSE_DROPPED_DECHUNKED = _RESPONSE_DROPPED | {b"transfer-encoding"}


class UpstreamSide(asyncio.Protocol):
    def __init__(self, core: Core, endpoint: Endpoint) -> None:
        self.core = core
        self.endpoint = endpoint
        self.reused = False
        self.transport: asyncio.Transport | None = None
        self.client: ClientSide | None = None
        self.request: Request | None = None
        self.buffer = bytearray()
        self.body: BodyTracker | None = None
        self.responded = False
        self.reusable = False
        self.keep = False
        self.tunnel = False
        self.timed_out = False
        self.lost = False

    @property
    def open(self) -> bool:
        return not self.lost and self.transport is not None and not self.transport.is_closing()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def begin(self, client: ClientSide, request: Request) -> None:
        self.client, self.request = client, request
        self.buffer.clear()
        self.body, self.responded, self.timed_out = None, False, False

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.lost:
            self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        client = self.client
        if client is None:
            self.close()  # an idle connection has nothing to say
        elif self.tunnel:
            client.write(data)
        elif self.body is not None:
            self._pass_body(client, data)
        else:
            self.buffer += data
            self._read_head(client)

    def _read_head(self, client: ClientSide) -> None:
        request = self.request
        assert request is not None
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD:
                    self.close()
                return
            raw = bytes(self.buffer[:end + 4])
            del self.buffer[:end + 4]
            try:
                response = _check_status(parse_head(raw))
            except BadMessage:
                self.close()
                return
            if response.second == b"101" or not response.second.startswith(b"1"):
                break  # other 1xx: interim answers (100 Continue was given already)
        self.core.deadlines.clear(self)
        self.responded = True
        if response.second == b"101" and request.upgrade:
            self._tunnel(client, response)
        else:
            self._respond(client, request, response)

    def _tunnel(self, client: ClientSide, response: Head) -> None:
        self.tunnel = True
        client.write(encode_head(b"HTTP/1.1 101 " + response.third, response.headers)
                     + bytes(self.buffer))
        self.buffer.clear()
        client.start_tunnel()

    def _respond(self, client: ClientSide, request: Request, response: Head) -> None:
        try:
            framing, length = _response_framing(request.head, response)
        except BadMessage:
            self.close()
            return
        dechunk = framing is Framing.CHUNKED and request.head.third == b"HTTP/1.0"
        self.keep = request.keep and framing is not Framing.CLOSE and not dechunk
        self.reusable = (framing is not Framing.CLOSE and response.first == b"HTTP/1.1"
                         and b"close" not in response.tokens(b"connection"))
        dropped = _RESPONSE_DROPPED_DECHUNKED if dechunk else _RESPONSE_DROPPED
        headers = [(k, v) for k, v in response.headers if k.lower() not in dropped]
        if not self.keep:
            headers.append((b"Connection", b"close"))
        head = encode_head(b"HTTP/1.1 " + response.second + b" " + response.third, headers)
        self.body = BodyTracker(framing, length, dechunk=dechunk)
        rest = bytes(self.buffer)
        self.buffer.clear()
        used, out = self.body.feed(rest) if rest else (0, b"")
        client.write(head + out)  # head and first body bytes in one segment
        self._after_body(client, len(rest) - used)

    def _pass_body(self, client: ClientSide, data: bytes) -> None:
        assert self.body is not None
        try:
            used, out = self.body.feed(data)
        except BadMessage:
            self.close()
            return
        if out:
            client.write(out)
        self._after_body(client, len(data) - used)

    def _after_body(self, client: ClientSide, extra: int) -> None:
        assert self.body is not None
        if extra:
            self.reusable = False  # bytes after the response: do not trust this connection
        if self.body.done:
            self.client, self.request, self.body = None, None, None
            client.finished(self, reusable=self.reusable, keep=self.keep)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.core.deadlines.clear(self)
        client, self.client = self.client, None
        if client is None:
            return
        if self.tunnel or (self.responded and not self._ends_by_close()):
            client.close()  # a tunnel ended, or the response broke off
        elif self.responded:
            client.finished(self, reusable=False, keep=False)
        else:
            client.upstream_failed(self, timed_out=self.timed_out)

    def _ends_by_close(self) -> bool:
        return self.body is not None and self.body.framing is Framing.CLOSE

    def pause_writing(self) -> None:
        if self.client is not None and self.client.transport is not None:
            self.client.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.client is not None and self.client.transport is not None:
            self.client.transport.resume_reading()

    def pause_reading(self) -> None:
        if self.transport is not None and not self.lost:
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.transport is not None and not self.lost:
            self.transport.resume_reading()

    def expire(self) -> None:
        """No response within the read timeout: close; the client gets a 504."""
        self.timed_out = True
        self.close()

    def abandon(self) -> None:
        """The client went away mid-exchange: this connection cannot be reused."""
        self.client = None
        self.close()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _check_status(response: Head) -> Head:
    if not response.second.isdigit() or len(response.second) != 3:
        raise BadMessage("malformed status line from upstream")
    return response


def _response_framing(request: Head, response: Head) -> tuple[Framing, int]:
    if request.first == b"HEAD" or response.second in (b"204", b"304"):
        return Framing.NONE, 0
    framing, length = response.framing()
    return (Framing.CLOSE, 0) if framing is Framing.NONE else (framing, length)
