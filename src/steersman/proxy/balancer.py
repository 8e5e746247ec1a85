"""Which endpoint a new connection goes to: round-robin with ClientIP session affinity.

One :class:`Balancer` per route (a Service port's internal or external side), as the
userspace proxy's ``LoadBalancerRR`` upstream (``pkg/proxy/userspace/roundrobin.go``):

* endpoints are taken in turn; when the set changes the turn carries on from the same
  position, so a sync does not restart everyone on the first endpoint;
* with ClientIP affinity, a client keeps its endpoint while it uses it at least once per
  timeout and the endpoint is still in the set; otherwise it gets the next in turn;
* ``next`` may be asked to skip endpoints that just refused a connection.

Time comes from an injected clock (``now()`` in seconds), so affinity expiry is testable.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from steersman.proxy.model import Endpoint

Now = Callable[[], float]


@dataclass(slots=True)
class _Sticky:
    endpoint: Endpoint
    last_used: float


class Balancer:
    """Round-robin over a route's endpoints, with optional ClientIP affinity."""

    def __init__(self, *, now: Now) -> None:
        self._now = now
        self._endpoints: tuple[Endpoint, ...] = ()
        self._turn = 0
        self._affinity_seconds: int | None = None
        self._sticky: dict[str, _Sticky] = {}

    @property
    def endpoints(self) -> tuple[Endpoint, ...]:
        return self._endpoints

    def update(self, endpoints: tuple[Endpoint, ...], affinity_seconds: int | None) -> None:
        """Adopt a new endpoint set; affinities to endpoints that left are forgotten."""
        self._endpoints = endpoints
        self._affinity_seconds = affinity_seconds
        if affinity_seconds is None:
            self._sticky.clear()
        else:
            present = set(endpoints)
            self._sticky = {ip: s for ip, s in self._sticky.items() if s.endpoint in present}
        if endpoints:
            self._turn %= len(endpoints)

    def next(self, client_ip: str, *, skip: Collection[Endpoint] = ()) -> Endpoint | None:
        """The endpoint for a new connection from ``client_ip``; None when none is left."""
        now = self._now()
        sticky = self._sticky_endpoint(client_ip, now, skip)
        if sticky is not None:
            return sticky
        chosen = self._take_turn(skip)
        if chosen is not None and self._affinity_seconds is not None:
            self._sticky[client_ip] = _Sticky(chosen, now)
        return chosen

    def _sticky_endpoint(self, client_ip: str, now: float,
                         skip: Collection[Endpoint]) -> Endpoint | None:
        if self._affinity_seconds is None:
            return None
        sticky = self._sticky.get(client_ip)
        if sticky is None or sticky.endpoint in skip:
            return None
        if now - sticky.last_used > self._affinity_seconds:
            del self._sticky[client_ip]
            return None
        sticky.last_used = now
        return sticky.endpoint

    def _take_turn(self, skip: Collection[Endpoint]) -> Endpoint | None:
        count = len(self._endpoints)
        for _ in range(count):
            endpoint = self._endpoints[self._turn % count]
            self._turn = (self._turn + 1) % count
            if endpoint not in skip:
                return endpoint
        return None

    def expire(self) -> None:
        """Forget affinities idle for longer than the timeout (bounds memory)."""
        if self._affinity_seconds is None:
            return
        now, timeout = self._now(), self._affinity_seconds
        self._sticky = {ip: s for ip, s in self._sticky.items() if now - s.last_used <= timeout}
