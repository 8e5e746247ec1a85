"""Token bucket and per-item limiters, in virtual time."""

from __future__ import annotations

import asyncio

import pytest

from steersman.client import FakeClock, TokenBucket, default_controller_rate_limiter
from steersman.client.ratelimit import ItemExponentialBackoff, MaxOfRateLimiter


def test_the_bucket_allows_a_burst_then_spaces_requests_at_qps() -> None:
    clock = FakeClock(start=0.0)
    bucket = TokenBucket(qps=10, burst=3, clock=clock)
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert [round(bucket.reserve(), 6) for _ in range(3)] == [0.1, 0.2, 0.3]


def test_the_bucket_refills_over_time_but_never_beyond_burst() -> None:
    clock = FakeClock(start=0.0)
    bucket = TokenBucket(qps=2, burst=2, clock=clock)
    bucket.reserve()
    bucket.reserve()
    clock.advance(100)
    assert [bucket.reserve() for _ in range(2)] == [0.0, 0.0]
    assert bucket.reserve() == pytest.approx(0.5)


async def test_wait_sleeps_on_the_injected_clock() -> None:
    clock = FakeClock(start=0.0)
    bucket = TokenBucket(qps=1, burst=1, clock=clock)
    await bucket.wait()
    waiter = asyncio.create_task(bucket.wait())
    await asyncio.sleep(0)
    assert not waiter.done() and clock.next_deadline() == pytest.approx(1.0)
    clock.advance(1)
    await asyncio.wait_for(waiter, 1)


@pytest.mark.parametrize(("qps", "burst"), [(0, 1), (-1, 5), (1, 0)])
def test_the_bucket_rejects_impossible_settings(qps: float, burst: int) -> None:
    with pytest.raises(ValueError):
        TokenBucket(qps=qps, burst=burst, clock=FakeClock())


def test_the_default_controller_limiter_is_the_max_of_backoff_and_bucket() -> None:
    clock = FakeClock(start=0.0)
    limiter = default_controller_rate_limiter(clock)
    delays = [limiter.when(f"item-{n}") for n in range(100)]
    assert delays == [0.005] * 100  # within the burst: each item's own first back-off
    assert limiter.when("item-100") == pytest.approx(0.1)  # the overall bucket is empty
    assert limiter.retries("item-1") == 1
    limiter.forget("item-1")
    assert limiter.retries("item-1") == 0


def test_max_of_needs_a_limiter_and_takes_the_longest_delay() -> None:
    with pytest.raises(ValueError):
        MaxOfRateLimiter()
    slow, fast = ItemExponentialBackoff(base=1, cap=10), ItemExponentialBackoff(base=0.1, cap=1)
    limiter = MaxOfRateLimiter(fast, slow)
    assert [limiter.when("x") for _ in range(5)] == [1, 2, 4, 8, 10]
