"""CrashLoopBackOff delays: 10 s doubling to 5 min, reset after 10 min without a restart."""

from __future__ import annotations

from steersman.client import FakeClock
from steersman.kubelet.agent.backoff import RestartBackoff


def test_delays_double_from_ten_seconds_to_five_minutes() -> None:
    clock = FakeClock()
    backoff = RestartBackoff(clock=clock)
    seen = []
    for _ in range(8):
        backoff.restarted("uid/app")
        seen.append(backoff.current_delay("uid/app"))
        clock.advance(1)
    assert seen == [10, 20, 40, 80, 160, 300, 300, 300]


def test_remaining_counts_from_the_exit() -> None:
    clock = FakeClock()
    backoff = RestartBackoff(clock=clock)
    assert backoff.remaining("uid/app", finished_at=clock.now()) == 0  # first crash: at once
    backoff.restarted("uid/app")
    finished = clock.now() + 2
    clock.advance(5)
    assert backoff.remaining("uid/app", finished_at=finished) == 7
    clock.advance(7)
    assert backoff.remaining("uid/app", finished_at=finished) == 0


def test_a_container_that_ran_ten_minutes_starts_over() -> None:
    clock = FakeClock()
    backoff = RestartBackoff(clock=clock)
    for _ in range(4):
        backoff.restarted("uid/app")
    clock.advance(601)
    assert backoff.remaining("uid/app", finished_at=clock.now()) == 0
    backoff.restarted("uid/app")
    assert backoff.current_delay("uid/app") == 10


def test_forgetting_a_pod_drops_its_containers() -> None:
    backoff = RestartBackoff(clock=FakeClock())
    backoff.restarted("uid/app")
    backoff.restarted("other/app")
    backoff.forget_prefix("uid/")
    assert backoff.current_delay("uid/app") == 10
    backoff.restarted("other/app")
    assert backoff.current_delay("other/app") == 20
