"""Balancer: round-robin that survives updates, and ClientIP affinity with its timeout."""

from __future__ import annotations

from steersman.proxy.balancer import Balancer
from steersman.proxy.model import Endpoint

A, B, C = (Endpoint(f"127.42.1.{n}", 8080) for n in (2, 3, 4))


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_round_robin_in_turn_and_skipping_refused_endpoints() -> None:
    balancer = Balancer(now=Ticks())
    balancer.update((A, B, C), None)
    assert [balancer.next("c") for _ in range(4)] == [A, B, C, A]
    assert balancer.next("c", skip={B}) == C
    assert balancer.next("c", skip={A, B, C}) is None
    balancer.update((A, C), None)
    assert {balancer.next("c"), balancer.next("c")} == {A, C}
    balancer.update((), None)
    assert balancer.next("c") is None


def test_client_ip_affinity_sticks_until_idle_for_the_timeout() -> None:
    clock = Ticks()
    balancer = Balancer(now=clock)
    balancer.update((A, B, C), 10)
    assert balancer.next("127.0.0.9") == A
    assert all(balancer.next("127.0.0.9") == A for _ in range(5))
    assert balancer.next("127.0.0.8") == B
    clock.now = 9.0
    assert balancer.next("127.0.0.9") == A  # used within the timeout: renewed
    clock.now = 19.5
    balancer.expire()
    assert balancer.next("127.0.0.9") == C  # idle too long: the next in turn


def test_affinity_to_an_endpoint_that_left_is_dropped() -> None:
    balancer = Balancer(now=Ticks())
    balancer.update((A, B), 100)
    first = balancer.next("x")
    remaining = B if first == A else A
    balancer.update((remaining,), 100)
    assert balancer.next("x") == remaining
