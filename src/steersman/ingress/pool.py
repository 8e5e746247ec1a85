"""Keep-alive connections to upstream endpoints, reused across requests.

:meth:`ConnectionPool.take` takes the next endpoint in an
:class:`~steersman.ingress.upstreams.Upstream`'s round-robin rotation and returns an idle
connection to it that is still open, or ``None`` and the order in which :meth:`connect`
should try the endpoints (on a refused or timed-out connect the next
one is tried, as nginx's ``proxy_next_upstream error timeout``). A connection goes back with
:meth:`release` only after a complete exchange; at most ``max_idle`` wait per endpoint.
:meth:`retain` closes the idle connections of endpoints that left every upstream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Protocol, TypeVar

from steersman.ingress.upstreams import Endpoint, Upstream


class NoEndpointReachable(Exception):
    """Every endpoint refused or timed out."""


class Pooled(Protocol):
    endpoint: Endpoint
    reused: bool

    @property
    def open(self) -> bool: ...

    def close(self) -> None: ...


P = TypeVar("P", bound=asyncio.BaseProtocol)


class ConnectionPool:
    def __init__(self, *, max_idle: int = 64, connect_timeout: float = 5.0) -> None:
        self._idle: dict[Endpoint, list[Pooled]] = {}
        self._max_idle = max_idle
        self._connect_timeout = connect_timeout

    def take(self, upstream: Upstream) -> tuple[Pooled | None, list[Endpoint]]:
        order = list(upstream.rotation())
        idle = self._idle.get(order[0]) if order else None
        while idle:
            connection = idle.pop()
            if connection.open:
                connection.reused = True
                return connection, order
            connection.close()
        return None, order

    async def connect(self, order: list[Endpoint], factory: Callable[[Endpoint], P]) -> P:
        loop = asyncio.get_running_loop()
        last_error: Exception | None = None
        for endpoint in order:
            try:
                async with asyncio.timeout(self._connect_timeout):
                    _, protocol = await loop.create_connection(
                        partial(factory, endpoint), *endpoint)
                return protocol
            except (OSError, TimeoutError) as err:
                last_error = err
        raise NoEndpointReachable(str(last_error or "no endpoints"))

    def release(self, connection: Pooled) -> None:
        idle = self._idle.setdefault(connection.endpoint, [])
        if connection.open and len(idle) < self._max_idle:
            idle.append(connection)
        else:
            connection.close()

    def retain(self, endpoints: set[Endpoint]) -> None:
        for endpoint in [e for e in self._idle if e not in endpoints]:
            for connection in self._idle.pop(endpoint):
                connection.close()

    def close(self) -> None:
        self.retain(set())
