"""Slow start: create in batches of 1, 2, 4, … and stop at the first batch with a failure.

kubernetes ``slowStartBatch`` (``pkg/controller/replicaset/replica_set.go``): when every
create fails the same way (a quota, a forbidden template) the controller makes a handful of
doomed calls instead of hundreds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from steersman.api.errors import StatusError

SLOW_START_INITIAL_BATCH = 1


def batch_sizes(count: int, initial: int = SLOW_START_INITIAL_BATCH) -> list[int]:
    """The batch sizes for ``count`` calls: doubling from ``initial``, the rest last."""
    sizes: list[int] = []
    size, remaining = min(count, initial), count
    while size > 0:
        sizes.append(size)
        remaining -= size
        size = min(2 * size, remaining)
    return sizes


async def slow_start(count: int, call: Callable[[], Awaitable[None]], *,
                     initial: int = SLOW_START_INITIAL_BATCH) -> tuple[int, StatusError | None]:
    """Run ``call`` ``count`` times in doubling batches; (successes, first error)."""
    successes = 0
    for size in batch_sizes(count, initial):
        results = await asyncio.gather(*(call() for _ in range(size)), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        successes += size - len(failures)
        if failures:
            first = failures[0]
            if not isinstance(first, StatusError):
                raise first
            return successes, first
    return successes, None
