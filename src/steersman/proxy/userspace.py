"""The ``userspace`` backend: an asyncio listener per frontend, no root needed.

In host network mode ClusterIPs (127.43.0.0/16), node addresses (127.42.x.1) and the
load-balancer pool (127.44.0.0/24 by default) are loopback addresses, so a plain process
can listen on them. :meth:`UserspaceBackend.sync` opens the listeners the table gains,
closes the ones it loses and swaps routes and endpoints of the rest in place (an open
connection is never cut by a sync).

Every node of ``steersman up --nodes N`` shares one network namespace, so the nodes'
proxies would all want the same ClusterIP, load-balancer and ``127.0.0.1:nodePort``
sockets. They share one :class:`ListenerPool` instead: the first proxy to want a frontend
binds it, later ones attach to it, new connections are spread over the attached proxies,
and the socket closes when the last one lets go. A frontend another process holds is a
:class:`~steersman.proxy.backend.BindFailure` (no ``SO_REUSEPORT``: silently sharing a
port with a stranger would send its traffic to the wrong place).
"""

from __future__ import annotations

import asyncio
import errno
import socket
import time
from dataclasses import dataclass, field

from steersman.proxy.backend import BindFailure
from steersman.proxy.balancer import Balancer, Now
from steersman.proxy.model import Frontend, ProxyTable, Route
from steersman.proxy.relay import Forwarding, TcpInbound, UdpFrontend

_BACKLOG = 1024


@dataclass
class _Listener:
    """One bound frontend socket and the proxies (owners) attached to it."""

    frontend: Frontend
    owners: dict[int, Forwarding] = field(default_factory=dict)
    server: asyncio.Server | None = None
    transport: asyncio.BaseTransport | None = None
    _turn: int = 0

    def choose(self) -> Forwarding | None:
        """The forwarding of the owner whose turn it is (one owner: always that one)."""
        owners = list(self.owners.values())
        if not owners:
            return None
        self._turn = (self._turn + 1) % len(owners)
        return owners[self._turn]

    async def serve(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        try:
            if self.frontend.protocol == "TCP":
                self.server = await loop.create_server(lambda: TcpInbound(self.choose),
                                                       sock=sock)
            else:
                self.transport, _ = await loop.create_datagram_endpoint(
                    lambda: UdpFrontend(self.choose), sock=sock)
        except BaseException:
            sock.close()
            raise

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
        if self.transport is not None:
            self.transport.close()


class ListenerPool:
    """Frontend sockets shared by the proxies of one network namespace (one process)."""

    def __init__(self) -> None:
        self._listeners: dict[Frontend, _Listener] = {}

    async def attach(self, frontend: Frontend, owner: object, forwarding: Forwarding) -> None:
        """Serve ``frontend`` for ``owner``; raises :class:`OSError` if it cannot be bound."""
        listener = self._listeners.get(frontend)
        if listener is not None:
            listener.owners[id(owner)] = forwarding
            return
        # Bind (synchronously) and register before the first await, so that a proxy
        # syncing at the same time attaches instead of binding the port a second time.
        listener = _Listener(frontend, {id(owner): forwarding})
        sock = _bound_socket(frontend)
        self._listeners[frontend] = listener
        try:
            await listener.serve(sock)
        except BaseException:
            del self._listeners[frontend]
            raise

    def detach(self, frontend: Frontend, owner: object) -> None:
        listener = self._listeners.get(frontend)
        if listener is None:
            return
        listener.owners.pop(id(owner), None)
        if not listener.owners:
            listener.close()
            del self._listeners[frontend]

    def frontends(self) -> set[Frontend]:
        return set(self._listeners)


class UserspaceBackend:
    """Relays connections to endpoints from sockets on every frontend of the table."""

    name = "userspace"

    def __init__(self, *, pool: ListenerPool | None = None, now: Now = time.monotonic) -> None:
        self._pool = pool or ListenerPool()
        self._now = now
        self._owned: dict[Frontend, Forwarding] = {}
        self._balancers: dict[str, Balancer] = {}

    @property
    def frontends(self) -> set[Frontend]:
        """The frontends this backend serves now."""
        return set(self._owned)

    async def sync(self, table: ProxyTable) -> list[BindFailure]:
        # A frontend without endpoints is left unbound: on a local address the kernel then
        # refuses connections itself, as upstream rejects them, and a Service that serves
        # nothing (``default/kubernetes`` has no EndpointSlice) holds no port.
        wanted = {f: r for f, r in table.routes.items() if r.endpoints}
        for frontend in set(self._owned) - set(wanted):
            self._pool.detach(frontend, self)
            del self._owned[frontend]
        balancers: dict[str, Balancer] = {}
        failures: list[BindFailure] = []
        for frontend, route in sorted(wanted.items()):
            balancer = self._balancer(route, balancers)
            forwarding = self._owned.get(frontend)
            if forwarding is not None:
                forwarding.route, forwarding.balancer = route, balancer
                continue
            forwarding = Forwarding(route, balancer)
            try:
                await self._pool.attach(frontend, self, forwarding)
            except OSError as err:
                failures.append(bind_failure(frontend, route, err))
                continue
            self._owned[frontend] = forwarding
        self._balancers = balancers
        return failures

    def _balancer(self, route: Route, fresh: dict[str, Balancer]) -> Balancer:
        balancer = fresh.get(route.name) or self._balancers.get(route.name)
        if balancer is None:
            balancer = Balancer(now=self._now)
        if route.name not in fresh:
            balancer.update(route.endpoints, route.affinity_seconds)
            balancer.expire()
            fresh[route.name] = balancer
        return balancer

    async def close(self) -> None:
        for frontend in list(self._owned):
            self._pool.detach(frontend, self)
        self._owned.clear()
        self._balancers.clear()


def _bound_socket(frontend: Frontend) -> socket.socket:
    kind = socket.SOCK_STREAM if frontend.protocol == "TCP" else socket.SOCK_DGRAM
    sock = socket.socket(socket.AF_INET, kind)
    try:
        if kind == socket.SOCK_STREAM:
            # Only TCP: on UDP, SO_REUSEADDR would let two sockets share the port.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((frontend.ip, frontend.port))
        if kind == socket.SOCK_STREAM:
            sock.listen(_BACKLOG)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def bind_failure(frontend: Frontend, route: Route, err: OSError) -> BindFailure:
    """What went wrong binding ``frontend`` and how to fix it, in words."""
    reason = err.strerror or str(err)
    if err.errno == errno.EADDRINUSE:
        fix = ("another process holds it: stop that process, or give the Service another "
               "port" + (" or nodePort" if route.kind == "node-port" else ""))
    elif err.errno == errno.EACCES:
        fix = ("ports below 1024 need root or CAP_NET_BIND_SERVICE: run the agent as root, "
               "or use a port of 1024 or more")
    elif err.errno == errno.EADDRNOTAVAIL:
        fix = "the address is not on this machine: use an address of a local interface"
    else:
        fix = "check the address and port"
    return BindFailure(frontend=frontend, service=route.service, reason=reason, fix=fix)
