"""Moving bytes: the userspace proxy's TCP and UDP relays, as asyncio protocols.

A listener hands each new TCP connection (or each new UDP client address) a
:class:`Forwarding` — the route and the balancer of one proxy — and the relay does the rest:

* TCP: the client's reads are paused until an endpoint accepts (endpoints that refuse are
  skipped, as upstream's userspace proxy retried), then bytes flow both ways with
  back-pressure (a side whose peer's write buffer is full stops reading), half-closes are
  passed on, and when one side goes the other is closed after its buffer drains.
  Connections already relayed are never cut when the endpoint set changes: a terminating
  endpoint drains, only new connections go elsewhere.
* UDP: one upstream socket per client address, connected to the endpoint chosen for the
  first datagram; replies go back from the frontend's socket; idle sessions close after
  ``UDP_IDLE_SECONDS``, and a session whose endpoint left the route is replaced on its
  next datagram (UDP has no connection to drain).

Clients outside a route's ``loadBalancerSourceRanges`` are closed (TCP) or dropped (UDP).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from steersman.proxy.balancer import Balancer
from steersman.proxy.model import Endpoint, Route

log = logging.getLogger(__name__)
CONNECT_TIMEOUT = 5.0
UDP_IDLE_SECONDS = 30.0


@dataclass(slots=True)
class Forwarding:
    """One proxy's current route and balancer for a frontend (updated in place on sync)."""

    route: Route
    balancer: Balancer

    def admit(self, client_ip: str) -> bool:
        return self.route.allows(client_ip)


Chooser = Callable[[], Forwarding | None]


class _Side(asyncio.Protocol):
    """One TCP connection of a relayed pair; ``peer`` is the other one."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.peer: _Side | None = None
        self._eof = False

    def data_received(self, data: bytes) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.write(data)

    def eof_received(self) -> bool:
        self._eof = True
        peer = self.peer
        if peer is None or peer.transport is None or peer._eof:
            self._close_both()
            return False
        if peer.transport.can_write_eof():
            peer.transport.write_eof()
        return True

    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()

    def _close_both(self) -> None:
        for side in (self, self.peer):
            if side is not None and side.transport is not None:
                side.transport.close()


class TcpInbound(_Side):
    """A client connection accepted on a frontend."""

    def __init__(self, choose: Chooser) -> None:
        super().__init__()
        self._choose = choose
        self._connecting: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        client_ip = str(transport.get_extra_info("peername")[0])
        forwarding = self._choose()
        if forwarding is None or not forwarding.admit(client_ip):
            transport.abort()
            return
        transport.pause_reading()
        self._connecting = asyncio.get_running_loop().create_task(
            self._connect(forwarding, client_ip))

    async def _connect(self, forwarding: Forwarding, client_ip: str) -> None:
        refused: set[Endpoint] = set()
        loop = asyncio.get_running_loop()
        while self.transport is not None:
            endpoint = forwarding.balancer.next(client_ip, skip=refused)
            if endpoint is None:
                self.transport.abort()
                return
            try:
                await asyncio.wait_for(loop.create_connection(
                    lambda: _TcpOutbound(self), endpoint.ip, endpoint.port), CONNECT_TIMEOUT)
            except (OSError, TimeoutError) as err:
                log.debug("%s: endpoint %s:%s failed: %s", forwarding.route.name,
                          endpoint.ip, endpoint.port, err)
                refused.add(endpoint)
                continue
            return

    def connection_lost(self, exc: Exception | None) -> None:
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
        super().connection_lost(exc)


class _TcpOutbound(_Side):
    """The proxy's connection to the chosen endpoint."""

    def __init__(self, inbound: TcpInbound) -> None:
        super().__init__()
        self.peer = inbound

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        inbound = self.peer
        if inbound is None or inbound.transport is None:
            transport.close()
            return
        inbound.peer = self
        inbound.transport.resume_reading()


class UdpFrontend(asyncio.DatagramProtocol):
    """A UDP frontend socket: a session per client address, relayed to one endpoint."""

    def __init__(self, choose: Chooser) -> None:
        self._choose = choose
        self.transport: asyncio.DatagramTransport | None = None
        self._sessions: dict[Any, _UdpSession] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        session = self._sessions.get(addr)
        if session is not None and not session.current():
            session.close()  # its endpoint left (kube-proxy clears such conntrack entries)
            session = None
        if session is None:
            session = self._open_session(addr)
            if session is None:
                return
        session.send(data)

    def _open_session(self, addr: Any) -> _UdpSession | None:
        forwarding = self._choose()
        if forwarding is None or not forwarding.admit(str(addr[0])):
            return None
        endpoint = forwarding.balancer.next(str(addr[0]))
        if endpoint is None:
            return None
        session = _UdpSession(self, addr, endpoint, forwarding)
        self._sessions[addr] = session
        return session

    def reply(self, data: bytes, addr: Any) -> None:
        if self.transport is not None:
            self.transport.sendto(data, addr)

    def forget(self, addr: Any) -> None:
        self._sessions.pop(addr, None)

    def connection_lost(self, exc: Exception | None) -> None:
        for session in list(self._sessions.values()):
            session.close()
        self.transport = None


class _UdpSession(asyncio.DatagramProtocol):
    """One client's upstream socket, connected to its endpoint."""

    def __init__(self, frontend: UdpFrontend, client: Any, endpoint: Endpoint,
                 forwarding: Forwarding) -> None:
        self._frontend = frontend
        self._client = client
        self._endpoint = endpoint
        self._forwarding = forwarding
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.DatagramTransport | None = None
        self._waiting: list[bytes] = []
        self._last = self._loop.time()
        self._timer = self._loop.call_later(UDP_IDLE_SECONDS, self._idle_check)
        self._opening = self._loop.create_task(self._open(endpoint))

    async def _open(self, endpoint: Endpoint) -> None:
        try:
            await self._loop.create_datagram_endpoint(
                lambda: self, remote_addr=(endpoint.ip, endpoint.port))
        except OSError as err:
            log.debug("udp endpoint %s:%s failed: %s", endpoint.ip, endpoint.port, err)
            self.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)
        for data in self._waiting:
            self._transport.sendto(data)
        self._waiting.clear()

    def current(self) -> bool:
        """Whether the session's endpoint is still one of its route's."""
        return self._endpoint in self._forwarding.balancer.endpoints

    def send(self, data: bytes) -> None:
        self._last = self._loop.time()
        if self._transport is None:
            self._waiting.append(data)
        else:
            self._transport.sendto(data)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self._last = self._loop.time()
        self._frontend.reply(data, self._client)

    def error_received(self, exc: Exception) -> None:
        log.debug("udp session %s: %s", self._client, exc)

    def _idle_check(self) -> None:
        remaining = self._last + UDP_IDLE_SECONDS - self._loop.time()
        if remaining > 0:
            self._timer = self._loop.call_later(remaining, self._idle_check)
        else:
            self.close()

    def close(self) -> None:
        self._timer.cancel()
        self._frontend.forget(self._client)
        if not self._opening.done():
            self._opening.cancel()
        if self._transport is not None:
            with contextlib.suppress(Exception):
                self._transport.close()
            self._transport = None
