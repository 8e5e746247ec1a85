"""Rate limiters: a token bucket for client requests and per-item back-off for work queues.

:class:`TokenBucket` is a reservation-based bucket (golang.org/x/time/rate): ``qps``
tokens per second, at most ``burst`` saved up. :meth:`TokenBucket.reserve` takes a token
now and says how long the caller must wait before using it, so concurrent callers queue
fairly without a lock. The REST client waits on it before every request attempt.

The per-item limiters mirror client-go ``util/workqueue/default_rate_limiters.go``: each
answers ``when(item)`` (the delay before the item may be retried), ``forget(item)`` (it
succeeded: start over) and ``retries(item)``. :func:`default_controller_rate_limiter` is
``DefaultControllerRateLimiter``: the larger of a per-item exponential back-off (5 ms
doubling to 1000 s) and one overall bucket (10 qps, burst 100).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Protocol

from steersman.client.clock import Clock


class TokenBucket:
    """``qps`` tokens per second, up to ``burst`` banked; reservations may go into debt."""

    def __init__(self, *, qps: float, burst: int, clock: Clock) -> None:
        if qps <= 0 or burst < 1:
            raise ValueError(f"a token bucket needs qps > 0 and burst >= 1, got {qps}/{burst}")
        self._qps = qps
        self._burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._updated = clock.now()

    def reserve(self) -> float:
        """Take one token; return the seconds to wait until it is really available."""
        now = self._clock.now()
        elapsed = max(now - self._updated, 0.0)
        self._tokens = min(self._burst, self._tokens + elapsed * self._qps)
        self._updated = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self._qps

    async def wait(self) -> None:
        """Take one token, sleeping until it is available."""
        delay = self.reserve()
        if delay > 0:
            await self._clock.sleep(delay)


class ItemRateLimiter(Protocol):
    """Per-item retry delays for a work queue."""

    def when(self, item: Hashable) -> float:
        """Record one more failure of ``item``; return the delay before its retry."""
        ...

    def forget(self, item: Hashable) -> None:
        """``item`` succeeded: its next failure starts the back-off over."""
        ...

    def retries(self, item: Hashable) -> int:
        """How many failures of ``item`` have been recorded since it was last forgotten."""
        ...


class ItemExponentialBackoff:
    """``base * 2**failures`` seconds per item, capped at ``cap``."""

    def __init__(self, *, base: float = 0.005, cap: float = 1000.0) -> None:
        self._base = base
        self._cap = cap
        self._failures: dict[Hashable, int] = {}

    def when(self, item: Hashable) -> float:
        failures = self._failures.get(item, 0)
        self._failures[item] = failures + 1
        # Past 2**64 the float would overflow long after it passed any sane cap.
        if failures > 64:
            return self._cap
        return min(self._base * 2.0**failures, self._cap)

    def forget(self, item: Hashable) -> None:
        self._failures.pop(item, None)

    def retries(self, item: Hashable) -> int:
        return self._failures.get(item, 0)


class BucketRateLimiter:
    """One token bucket shared by every item: bounds the overall retry rate."""

    def __init__(self, bucket: TokenBucket) -> None:
        self._bucket = bucket

    def when(self, item: Hashable) -> float:
        return self._bucket.reserve()

    def forget(self, item: Hashable) -> None:
        return None

    def retries(self, item: Hashable) -> int:
        return 0


class MaxOfRateLimiter:
    """The longest delay any of several limiters asks for."""

    def __init__(self, *limiters: ItemRateLimiter) -> None:
        if not limiters:
            raise ValueError("MaxOfRateLimiter needs at least one limiter")
        self._limiters = limiters

    def when(self, item: Hashable) -> float:
        return max(limiter.when(item) for limiter in self._limiters)

    def forget(self, item: Hashable) -> None:
        for limiter in self._limiters:
            limiter.forget(item)

    def retries(self, item: Hashable) -> int:
        return max(limiter.retries(item) for limiter in self._limiters)


def default_controller_rate_limiter(clock: Clock) -> ItemRateLimiter:
    """client-go's ``DefaultControllerRateLimiter``: 5 ms → 1000 s per item, 10 qps/100 overall."""
    return MaxOfRateLimiter(
        ItemExponentialBackoff(base=0.005, cap=1000.0),
        BucketRateLimiter(TokenBucket(qps=10.0, burst=100, clock=clock)),
    )
