"""Per-container restart back-off: CrashLoopBackOff's 10 s, 20 s, … capped at 5 min.

The kubelet's ``flowcontrol.Backoff`` keyed by pod UID and container name
(``kuberuntime_manager.go`` ``doBackOff``): a container that exited at ``finished_at`` is
in back-off while ``now < finished_at + delay``; each restart doubles the delay up to the
cap; an entry untouched for ``reset_after`` (10 min, twice the cap — a container that ran
that long) starts again from the initial delay. The clock is injected.
"""

from __future__ import annotations

from dataclasses import dataclass

from steersman.client import Clock

INITIAL_DELAY = 10.0
MAX_DELAY = 300.0
RESET_AFTER = 600.0


@dataclass(slots=True)
class _Entry:
    delay: float
    last_update: float


class RestartBackoff:
    """Restart delays per key (``"<pod uid>/<container>"``), in the clock's seconds."""

    def __init__(self, *, clock: Clock, initial: float = INITIAL_DELAY,
                 cap: float = MAX_DELAY, reset_after: float = RESET_AFTER) -> None:
        self._clock = clock
        self._initial = initial
        self._cap = cap
        self._reset_after = reset_after
        self._entries: dict[str, _Entry] = {}

    def remaining(self, key: str, *, finished_at: float) -> float:
        """Seconds left before the container that exited at ``finished_at`` may restart."""
        entry = self._entries.get(key)
        now = self._clock.now()
        if entry is None or self._expired(entry, now):
            return 0.0
        return max(finished_at + entry.delay - now, 0.0)

    def current_delay(self, key: str) -> float:
        """The delay the next back-off would wait (for the CrashLoopBackOff message)."""
        entry = self._entries.get(key)
        return self._initial if entry is None else entry.delay

    def restarted(self, key: str) -> None:
        """Record a restart now: the next back-off waits twice as long (up to the cap)."""
        now = self._clock.now()
        entry = self._entries.get(key)
        if entry is None or self._expired(entry, now):
            self._entries[key] = _Entry(self._initial, now)
        else:
            entry.delay = min(entry.delay * 2, self._cap)
            entry.last_update = now

    def forget_prefix(self, prefix: str) -> None:
        """Drop every entry of one pod (``"<uid>/"``) once it is gone."""
        for key in [key for key in self._entries if key.startswith(prefix)]:
            del self._entries[key]

    def _expired(self, entry: _Entry, now: float) -> bool:
        return now - entry.last_update > self._reset_after
