"""Idle and read timeouts for many connections with one timer, not one per request.

``asyncio.timeout`` costs a scheduled timer per use (about a fifth of the proxy's time per
request when used twice a request); the proxy instead records a deadline per connection
(:meth:`Deadlines.set`, :meth:`Deadlines.clear`) and :meth:`Deadlines.run` fires the
expired ones once per ``interval``, so a timeout is honoured within one interval.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class Deadlines:
    def __init__(self, *, interval: float = 1.0) -> None:
        self._interval = interval
        self._entries: dict[object, tuple[float, Callable[[], None]]] = {}
        self._loop = asyncio.get_running_loop()

    def set(self, key: object, seconds: float, on_expiry: Callable[[], None]) -> None:
        self._entries[key] = (self._loop.time() + seconds, on_expiry)

    def clear(self, key: object) -> None:
        self._entries.pop(key, None)

    def expire(self, now: float) -> None:
        for key, (deadline, on_expiry) in list(self._entries.items()):
            if deadline <= now:
                del self._entries[key]
                on_expiry()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            self.expire(self._loop.time())
