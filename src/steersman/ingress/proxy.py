"""The ingress data plane: an HTTP/1.1 reverse proxy on asyncio, over HTTP and HTTPS.

:class:`IngressProxy` owns the listeners, the current
:class:`~steersman.ingress.snapshot.Snapshot`, the upstream connection pool and the
timeouts; the per-connection work is in :mod:`.exchange`. Each request reads the current
snapshot once (:meth:`IngressProxy.decide`), so a reload swaps the snapshot between
requests and never disturbs one in flight. A request is then:

* redirected (308) to HTTPS when it came over HTTP for a host with TLS;
* answered 404 when no rule and no default backend matches, 503 when the backend has no
  ready endpoint;
* otherwise forwarded on a keep-alive upstream connection with
  ``X-Forwarded-For/-Proto/-Host/-Port`` and ``X-Real-IP`` set (the client's own values
  are replaced, as ingress-nginx does by default).

TLS is terminated here; the certificate is chosen per handshake by SNI from the snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl

from steersman.ingress.deadlines import Deadlines
from steersman.ingress.exchange import ClientSide
from steersman.ingress.http1 import HOP_BY_HOP, Head, simple_response
from steersman.ingress.pool import ConnectionPool
from steersman.ingress.snapshot import Snapshot, empty_snapshot
from steersman.ingress.upstreams import Upstream

_DROPPED = (HOP_BY_HOP - {b"transfer-encoding"}) | {
    b"expect", b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host",
    b"x-forwarded-port", b"x-real-ip"}


class ListenError(Exception):
    """The proxy cannot bind its address; the message says what to change."""


class IngressProxy:
    def __init__(self, *, address: str, http_port: int, https_port: int,
                 default_certificate: ssl.SSLContext, read_timeout: float = 60.0,
                 keepalive_timeout: float = 75.0) -> None:
        self.address = address
        self.http_port = http_port
        self.https_port = https_port
        self.snapshot = empty_snapshot(default_certificate)
        self._tls = default_certificate
        self._tls.sni_callback = self._choose_certificate
        self.pool = ConnectionPool()
        self.read_timeout = read_timeout
        self.keepalive_timeout = keepalive_timeout
        self.connections: set[ClientSide] = set()
        self.deadlines: Deadlines
        self._servers: list[asyncio.Server] = []
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Bind both ports (raising :class:`ListenError`) and start serving."""
        plain, secure = _listen(self.address, self.http_port), None
        try:
            secure = _listen(self.address, self.https_port)
        finally:
            if secure is None:
                plain.close()
        self.http_port, self.https_port = plain.getsockname()[1], secure.getsockname()[1]
        self.deadlines = Deadlines()
        self._sweeper = asyncio.create_task(self.deadlines.run(), name="ingress-deadlines")
        loop = asyncio.get_running_loop()
        http_port, https_port = b"%d" % self.http_port, b"%d" % self.https_port
        self._servers = [
            await loop.create_server(lambda: ClientSide(self, b"http", http_port),
                                     sock=plain, backlog=1024),
            await loop.create_server(lambda: ClientSide(self, b"https", https_port),
                                     sock=secure, ssl=self._tls, backlog=1024)]

    def update(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.pool.retain(snapshot.endpoints())

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        for connection in list(self.connections):
            connection.close()
        self._servers.clear()
        self.pool.close()
        await asyncio.sleep(0)  # let the transports finish closing

    def _choose_certificate(self, connection: ssl.SSLObject, server_name: str | None,
                            _context: ssl.SSLContext) -> None:
        connection.context = self.snapshot.certificates.for_name(server_name)

    def decide(self, head: Head, client: ClientSide) -> bytes | Upstream:
        """The upstream for ``head``, or the complete response that answers it instead."""
        snapshot = self.snapshot
        host = _host(head)
        if client.scheme == b"http" and host in snapshot.redirect_hosts:
            port = "" if self.https_port == 443 else f":{self.https_port}"
            location = f"https://{host}{port}".encode() + head.second
            return simple_response(308, "Permanent Redirect", "", close=False,
                                   extra=((b"Location", location),))
        backend = snapshot.routes.route(host, _path(head.second))
        if backend is None:
            return simple_response(404, "Not Found", "default backend - 404\n", close=False)
        upstream = snapshot.upstreams.get(backend)
        if upstream is None or not upstream.endpoints:
            return simple_response(503, "Service Unavailable",
                                   f"no ready endpoint for service {backend.namespace}/"
                                   f"{backend.name} port {backend.port}\n", close=False)
        return upstream

    def upstream_request(self, head: Head, client: ClientSide, upgrade: bytes | None) -> bytes:
        return _upstream_request(head, client, upgrade)


def _upstream_request(head: Head, client: ClientSide, upgrade: bytes | None) -> bytes:
    """The request line and headers for the upstream, as bytes, built in one pass."""
    dropped = _DROPPED | head.tokens(b"connection") if b"connection" in head.index else _DROPPED
    parts = [head.first, b" ", head.second, b" HTTP/1.1\r\n"]
    for name, value in head.headers:
        if name.lower() not in dropped:
            parts += (name, b": ", value, b"\r\n")
    parts += (client.forwarded, b"X-Forwarded-Host: ", head.index.get(b"host", b""), b"\r\n")
    if upgrade is not None:
        parts += (b"Upgrade: ", upgrade, b"\r\nConnection: upgrade\r\n")
    parts.append(b"\r\n")
    return b"".join(parts)


def _host(head: Head) -> str:
    """The Host header's name, lower-cased, without a port."""
    value = (head.get(b"host") or b"").decode("latin-1").strip().lower()
    if value.startswith("["):
        return value.partition("]")[0] + "]"
    name, _, port = value.rpartition(":")
    return name if name and port.isdigit() else value


def _path(target: bytes) -> str:
    path = target.split(b"?", 1)[0]
    return path.decode("latin-1") if path.startswith(b"/") else "/"


def _listen(address: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say so, and
    # without it every response written in two parts waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.listen(1024)
    except OSError as err:
        sock.close()
        raise ListenError(
            f"cannot listen for ingress on {address}:{port}: {err.strerror}; pick other "
            "ports with --ingress-http-port/--ingress-https-port, another address with "
            "--ingress-address, or turn the ingress controller off with --no-ingress"
        ) from err
    sock.setblocking(False)
    return sock
