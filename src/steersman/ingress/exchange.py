"""One client connection and the upstream connection serving its current request.

Callback-driven asyncio protocols, no task per connection (a stream-based version cost
~2.4 times the CPU per request: docs/ingress.md). :class:`ClientSide` reads request heads one
at a time (keep-alive, pipelined requests wait their turn), asks the proxy what to do
(:meth:`Core.decide`: a ready response, or an upstream), and hands the request to an
:class:`UpstreamSide` taken from the pool or newly connected. The upstream side passes the
response on as it arrives — head, then body bytes as they come, found the end of by a
:class:`~steersman.ingress.http1.BodyTracker` — and gives the connection back to the pool
when the exchange was complete and both ends allow reuse. A ``101`` answer to an
``Upgrade`` turns both into a byte tunnel. Backpressure: when one side's writes back up,
the other side stops reading.

Failures: no upstream reachable → 502; the upstream closes before answering → 502 (once
retried on a fresh connection when a pooled one had gone stale and the request had no
body); no answer within the read timeout → 504; the upstream breaks mid-response → the
client connection is closed, as nginx does.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from steersman.ingress.deadlines import Deadlines
from steersman.ingress.http1 import (
    MAX_HEAD,
    BadMessage,
    BodyTracker,
    Framing,
    Head,
    encode_head,
    parse_head,
    simple_response,
)
from steersman.ingress.pool import ConnectionPool
from steersman.ingress.upstreams import Endpoint, Upstream

_RESPONSE_DROPPED = frozenset({b"connection", b"keep-alive"})
_RESPONSE_DROPPED_DECHUNKED = _RESPONSE_DROPPED | {b"transfer-encoding"}


class Core(Protocol):
    """What the exchanges need of the proxy."""

    deadlines: Deadlines
    pool: ConnectionPool
    keepalive_timeout: float
    read_timeout: float
    connections: set[ClientSide]

    def decide(self, head: Head, client: ClientSide) -> bytes | Upstream: ...

    def upstream_request(self, head: Head, client: ClientSide, upgrade: bytes | None
                         ) -> bytes: ...


class ClientSide(asyncio.Protocol):
    def __init__(self, core: Core, scheme: bytes, port: bytes) -> None:
        self.core = core
        self.scheme = scheme
        self.port = port
        self.address = b""
        self.forwarded = b""  # the X-Forwarded-* headers every request of this client gets
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upstream: UpstreamSide | None = None
        self.request: _Request | None = None
        self.tunnel = False
        self.closed = False

    # -- transport events
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.address = str(peer[0]).encode() if peer else b""
        self.forwarded = (b"X-Real-IP: %s\r\nX-Forwarded-For: %s\r\nX-Forwarded-Port: %s\r\n"
                          b"X-Forwarded-Proto: %s\r\n" % (self.address, self.address,
                                                          self.port, self.scheme))
        self.core.connections.add(self)
        self.core.deadlines.set(self, self.core.keepalive_timeout, self.close)

    def data_received(self, data: bytes) -> None:
        upstream = self.upstream
        if self.tunnel and upstream is not None:
            upstream.write(data)
        elif self.request is not None and self.request.body is not None and upstream:
            self._forward_body(data)
        else:
            self.buffer += data
            if self.request is None:
                self._next_request()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.core.connections.discard(self)
        self.core.deadlines.clear(self)
        if self.upstream is not None:
            self.upstream.abandon()
            self.upstream = None

    def pause_writing(self) -> None:
        if self.upstream is not None:
            self.upstream.pause_reading()

    def resume_writing(self) -> None:
        if self.upstream is not None:
            self.upstream.resume_reading()

    # -- requests
    def _next_request(self) -> None:
        while self.request is None and not self.closed:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD:
                    self.reply(simple_response(431, "Request Header Fields Too Large", "",
                                               close=True), keep=False)
                return
            raw = bytes(self.buffer[:end + 4])
            del self.buffer[:end + 4]
            self.core.deadlines.clear(self)
            self._begin(raw)

    def _begin(self, raw: bytes) -> None:
        try:
            head = parse_head(raw)
            framing, length = head.framing()
            if not head.third.startswith(b"HTTP/1."):
                raise BadMessage("only HTTP/1.x is served", 505)
        except BadMessage as err:
            self.reply(simple_response(err.status, "Bad Request", f"{err}\n", close=True),
                       keep=False)
            return
        keep = head.third == b"HTTP/1.1" and b"close" not in head.tokens(b"connection")
        has_body = framing is Framing.CHUNKED or (framing is Framing.LENGTH and length > 0)
        decision = self.core.decide(head, self)
        if isinstance(decision, bytes):
            if not keep or has_body:
                decision = decision.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1)
            self.reply(decision, keep=keep and not has_body)
            return
        if b"100-continue" in head.tokens(b"expect"):
            self.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        upgrade = head.get(b"upgrade") if b"upgrade" in head.tokens(b"connection") else None
        self.request = _Request(head, self.core.upstream_request(head, self, upgrade),
                                BodyTracker(framing, length) if has_body else None,
                                upgrade is not None, keep, decision)
        self._connect(fresh=False)

    def _connect(self, *, fresh: bool) -> None:
        request = self.request
        assert request is not None and self.transport is not None
        pooled, order = (None, list(request.upstream.rotation())) if fresh else (
            self.core.pool.take(request.upstream))
        if isinstance(pooled, UpstreamSide):
            self._attach(pooled)
            return
        self.transport.pause_reading()  # the body stays in the kernel until there is a peer
        task = asyncio.ensure_future(self.core.pool.connect(
            order, lambda endpoint: UpstreamSide(self.core, endpoint)))
        task.add_done_callback(self._connected)

    def _connected(self, task: asyncio.Future[UpstreamSide]) -> None:
        if task.cancelled() or task.exception() is not None:
            if not self.closed:
                self.reply(simple_response(502, "Bad Gateway", "Bad Gateway\n", close=True),
                           keep=False)
            return
        upstream = task.result()
        if self.closed:
            upstream.close()
            return
        assert self.transport is not None
        self.transport.resume_reading()
        self._attach(upstream)

    def _attach(self, upstream: UpstreamSide) -> None:
        request = self.request
        assert request is not None
        self.upstream = upstream
        upstream.begin(self, request)
        upstream.write(request.encoded)
        self.core.deadlines.set(upstream, self.core.read_timeout, upstream.expire)
        if request.body is not None and self.buffer:
            pending = bytes(self.buffer)
            self.buffer.clear()
            self._forward_body(pending)

    def _forward_body(self, data: bytes) -> None:
        request, upstream = self.request, self.upstream
        assert request is not None and request.body is not None and upstream is not None
        try:
            used, out = request.body.feed(data)
        except BadMessage:
            self.close()
            return
        if out:
            upstream.write(out)
        if request.body.done:
            request.body = None
            self.buffer += data[used:]  # a pipelined next request waits its turn

    # -- called by the upstream side
    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(data)

    def start_tunnel(self) -> None:
        self.tunnel = True
        if self.buffer and self.upstream is not None:
            self.upstream.write(bytes(self.buffer))
            self.buffer.clear()

    def finished(self, upstream: UpstreamSide, *, reusable: bool, keep: bool) -> None:
        self.upstream, self.request = None, None
        if reusable:
            self.core.pool.release(upstream)
        else:
            upstream.close()
        if not keep:
            self.close()
            return
        self.core.deadlines.set(self, self.core.keepalive_timeout, self.close)
        self._next_request()

    def upstream_failed(self, upstream: UpstreamSide, *, timed_out: bool) -> None:
        """The upstream closed before a response head: retry once or answer 502/504."""
        request = self.request
        self.upstream = None
        if request is None or self.closed:
            return
        if upstream.reused and not timed_out and not request.retried and (
                request.body is None and not request.had_body):
            request.retried = True
            self._connect(fresh=True)
            return
        status, reason = (504, "Gateway Timeout") if timed_out else (502, "Bad Gateway")
        self.reply(simple_response(status, reason, f"{reason}\n", close=True), keep=False)

    def reply(self, response: bytes, *, keep: bool) -> None:
        self.write(response)
        self.request = None
        if not keep:
            self.close()
        else:
            self.core.deadlines.set(self, self.core.keepalive_timeout, self.close)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class _Request:
    __slots__ = ("body", "encoded", "had_body", "head", "keep", "retried", "upgrade",
                 "upstream")

    def __init__(self, head: Head, encoded: bytes, body: BodyTracker | None, upgrade: bool,
                 keep: bool, upstream: Upstream) -> None:
        self.head = head
        self.encoded = encoded
        self.body = body
        self.had_body = body is not None
        self.upgrade = upgrade
        self.keep = keep
        self.upstream = upstream
        self.retried = False


class UpstreamSide(asyncio.Protocol):
    def __init__(self, core: Core, endpoint: Endpoint) -> None:
        self.core = core
        self.endpoint = endpoint
        self.reused = False
        self.transport: asyncio.Transport | None = None
        self.client: ClientSide | None = None
        self.request: _Request | None = None
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

    def begin(self, client: ClientSide, request: _Request) -> None:
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

    def _respond(self, client: ClientSide, request: _Request, response: Head) -> None:
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
