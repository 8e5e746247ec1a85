"""Expectations: what a controller has asked for and not yet seen in its informer.

kubernetes ``ControllerExpectations``/``UIDTrackingControllerExpectations``
(``pkg/controller/controller_utils.go``): after creating N pods a ReplicaSet expects N pod
ADDED events, after deleting some pods it expects their deletions. Until they have all been
seen (or five minutes have passed, in case an event was lost), reconcile does not create or
delete again — otherwise a burst of events, each read against a cache that does not yet
show our own writes, would create the same replicas twice.

Lives on one event loop, like the informer handlers that feed it: no locking.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from steersman.client import Clock

EXPECTATIONS_TIMEOUT = 300.0


@dataclass
class _Pending:
    adds: int
    deletes: set[str] = field(default_factory=set)
    since: float = 0.0


class Expectations:
    """Outstanding creations (a count) and deletions (pod keys) per controller key."""

    def __init__(self, clock: Clock, *, timeout: float = EXPECTATIONS_TIMEOUT) -> None:
        self._clock = clock
        self._timeout = timeout
        self._pending: dict[str, _Pending] = {}

    def satisfied(self, key: str) -> bool:
        """True when nothing is outstanding (or it is so old that it must have been lost)."""
        pending = self._pending.get(key)
        if pending is None:
            return True
        if pending.adds <= 0 and not pending.deletes:
            return True
        return self._clock.now() - pending.since > self._timeout

    def expect_creations(self, key: str, count: int) -> None:
        self._pending[key] = _Pending(count, since=self._clock.now())

    def expect_deletions(self, key: str, pod_keys: list[str]) -> None:
        self._pending[key] = _Pending(0, set(pod_keys), since=self._clock.now())

    def creation_observed(self, key: str) -> None:
        pending = self._pending.get(key)
        if pending is not None:
            pending.adds -= 1

    def deletion_observed(self, key: str, pod_key: str) -> None:
        pending = self._pending.get(key)
        if pending is not None:
            pending.deletes.discard(pod_key)

    def forget(self, key: str) -> None:
        self._pending.pop(key, None)
