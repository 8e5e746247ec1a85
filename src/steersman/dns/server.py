"""The DNS server on asyncio: UDP and TCP listeners in front of one :class:`Resolver`.

:meth:`Resolver.local` answers what it can without waiting (the cluster zone, malformed
or unsupported queries); only names outside the zone take the awaited path through the
:class:`~steersman.dns.forward.Forwarder`. On UDP, answers go back from the datagram
callback itself, with no task per query. Forwarded queries run as tasks, at most
``max_forwards`` at once (beyond that SERVFAIL at once: a flood of outside names must not
take the cluster names down with it). TCP connections carry any number of length-prefixed
queries and close after ``idle_timeout`` seconds of silence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from typing import cast

from steersman.dns.forward import Forwarder
from steersman.dns.wire import (
    FORMERR,
    NOTIMP,
    SERVFAIL,
    TCP_LIMIT,
    MalformedQuery,
    Query,
    assemble,
    error_tail,
    header_error,
    parse_query,
)
from steersman.dns.zone import Zone

log = logging.getLogger(__name__)
_SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)  # Linux; typeshed lacks it


class Resolver:
    """Answers queries from a :class:`Zone`, and forwards the rest."""

    def __init__(self, zone: Zone, forwarder: Forwarder, *, max_forwards: int = 256) -> None:
        self.zone = zone
        self._forwarder = forwarder
        self._forwards = 0
        self._max_forwards = max_forwards

    def local(self, data: bytes, *, tcp: bool) -> tuple[bytes | None, Query | None]:
        """(response, None) when answered here; (None, query) when it must be forwarded."""
        try:
            query = parse_query(data)
        except MalformedQuery:
            return header_error(data, FORMERR), None
        limit = TCP_LIMIT if tcp else query.udp_limit()
        if query.opcode != 0:
            return assemble(query, error_tail(NOTIMP), limit=limit), None
        tail = self.zone.answer(query.key, query.qtype)
        if tail is not None:
            return assemble(query, tail, limit=limit), None
        if self._forwards >= self._max_forwards or not self._forwarder.upstreams:
            return assemble(query, error_tail(SERVFAIL), limit=limit), None
        self._forwards += 1  # the slot is taken now: the forwarding task starts later
        return None, query

    async def forwarded(self, query: Query, *, tcp: bool) -> bytes:
        """The upstream's answer (SERVFAIL if none) to a query :meth:`local` handed out."""
        limit = TCP_LIMIT if tcp else query.udp_limit()
        try:
            answer = await self._forwarder.forward(query.data, limit=limit)
        finally:
            self._forwards -= 1
        return answer if answer is not None else assemble(query, error_tail(SERVFAIL),
                                                          limit=limit)


class _UDP(asyncio.DatagramProtocol):
    def __init__(self, resolver: Resolver, spawn: Callable[[asyncio.Future[None]], None]):
        self._resolver = resolver
        self._spawn = spawn
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        response, query = self._resolver.local(data, tcp=False)
        if response is not None:
            assert self._transport is not None
            self._transport.sendto(response, addr)
        elif query is not None:
            self._spawn(asyncio.ensure_future(self._forward(query, addr)))

    async def _forward(self, query: Query, addr: tuple[str | object, ...]) -> None:
        response = await self._resolver.forwarded(query, tcp=False)
        if self._transport is not None and not self._transport.is_closing():
            self._transport.sendto(response, addr)


class DNSServer:
    """Serves a :class:`Resolver` on one address and port, over UDP and TCP."""

    def __init__(self, resolver: Resolver, *, idle_timeout: float = 10.0) -> None:
        self.resolver = resolver
        self._idle_timeout = idle_timeout
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._tasks: set[asyncio.Future[None]] = set()
        self.address: tuple[str, int] = ("", 0)

    async def start(self, host: str, port: int) -> None:
        """Bind UDP then TCP on the same port (port 0: one free for both)."""
        for _ in range(19 if port == 0 else 0):
            try:
                return await self._bind(host, port)
            except OSError:
                continue  # the UDP port picked is taken for TCP: pick again
        await self._bind(host, port)

    async def _bind(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._udp, _ = await loop.create_datagram_endpoint(
            lambda: _UDP(self.resolver, self._track), local_addr=(host, port), family=family)
        _grow_receive_buffer(self._udp.get_extra_info("socket"))
        bound = self._udp.get_extra_info("sockname")[1]
        try:
            self._tcp = await asyncio.start_server(self._serve_tcp, host, bound, family=family,
                                                   reuse_address=True)
        except OSError:
            self._udp.close()
            self._udp = None
            raise
        self.address = (host, bound)

    def _track(self, task: asyncio.Future[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Future[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("DNS: request failed: %r", task.exception())

    async def _serve_tcp(self, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._track(task)
        try:
            while True:
                length = int.from_bytes(await asyncio.wait_for(reader.readexactly(2),
                                                               self._idle_timeout))
                data = await asyncio.wait_for(reader.readexactly(length), self._idle_timeout)
                response, query = self.resolver.local(data, tcp=True)
                if query is not None:
                    response = await self.resolver.forwarded(query, tcp=True)
                if response is None:
                    return
                writer.write(len(response).to_bytes(2) + response)
                await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._tcp is not None:
            await self._tcp.wait_closed()
            self._tcp = None


def _grow_receive_buffer(sock: socket.socket, size: int = 4 << 20) -> None:
    """Room for a burst of queries while the loop is busy (root may exceed rmem_max)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, size)
    except OSError:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
