"""The client half of an exchange: one client connection and the request it is on.

Callback-driven asyncio protocols, no task per connection (cheaper per request than the
first, stream-based version: docs/ingress.md). :class:`ClientSide` reads request heads one
at a time (keep-alive; pipelined requests wait their turn), asks the proxy what to do
(:meth:`Core.decide`: a ready response, or an upstream), and hands the request to an
:class:`~steersman.ingress.upstream_side.UpstreamSide` taken from the pool or newly
connected, which passes the response back as it arrives and returns itself through
:meth:`ClientSide.finished`. A ``101`` answer to an ``Upgrade`` turns both into a byte
tunnel. Backpressure: when one side's writes back up, the other side stops reading.

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
    parse_head,
    simple_response,
)
from steersman.ingress.pool import ConnectionPool
from steersman.ingress.upstream_side import UpstreamSide
from steersman.ingress.upstreams import Upstream


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
        self.request: Request | None = None
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
        self.request = Request(head, self.core.upstream_request(head, self, upgrade),
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


class Request:
    """One request on its way: what to send upstream and how its body is framed."""

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
