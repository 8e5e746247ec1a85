"""The periodic log rotation pass: one per interval, in virtual time, surviving failures."""

from __future__ import annotations

import asyncio

from steersman.client import FakeClock
from steersman.kubelet.agent.log_rotation import LOG_ROTATION_SECONDS, rotate_logs_periodically


class CountingRotator:
    """A runtime's ``rotate_logs`` that counts its passes; the first ones fail."""

    def __init__(self, *, failures: int) -> None:
        self.passes = 0
        self._failures = failures

    async def rotate_logs(self) -> None:
        self.passes += 1
        if self.passes <= self._failures:
            raise OSError("disk full")


async def test_a_pass_every_interval_and_failures_do_not_stop_it() -> None:
    clock, rotator = FakeClock(), CountingRotator(failures=1)
    task = asyncio.create_task(rotate_logs_periodically(rotator, clock=clock))
    try:
        await asyncio.sleep(0)
        assert rotator.passes == 1
        for passes in (2, 3):
            clock.advance(LOG_ROTATION_SECONDS)
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            assert rotator.passes == passes
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
