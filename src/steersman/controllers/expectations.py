"""Writes a controller has made but its informer cache has not shown yet.

A reconcile that created pods must not run again on a cache that lacks them, or it would
create them twice (client-go's ``ControllerExpectations``). Here each controller key
remembers the pod keys it created and the (key, uid) pairs it deleted;
:meth:`Expectations.satisfied` checks them against the cache and forgets the ones it sees
fulfilled. Entries expire after ``ttl`` seconds so a lost event cannot wedge a key forever.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from steersman.client import Clock

Lookup = Callable[[str], Mapping[str, Any] | None]


@dataclass
class _Pending:
    since: float
    created: set[str] = field(default_factory=set)
    deleted: set[tuple[str, str]] = field(default_factory=set)


class Expectations:
    """Per controller key: created object keys and deleted (key, uid) not yet observed."""

    def __init__(self, clock: Clock, *, ttl: float = 300.0) -> None:
        self._clock = clock
        self._ttl = ttl
        self._pending: dict[str, _Pending] = {}

    def expect_created(self, key: str, object_key: str) -> None:
        self._entry(key).created.add(object_key)

    def expect_deleted(self, key: str, object_key: str, uid: str) -> None:
        self._entry(key).deleted.add((object_key, uid))

    def forget(self, key: str) -> None:
        self._pending.pop(key, None)

    def satisfied(self, key: str, lookup: Lookup) -> bool:
        """Whether every write made for ``key`` shows in the cache ``lookup`` reads."""
        entry = self._pending.get(key)
        if entry is None:
            return True
        if self._clock.now() - entry.since > self._ttl:
            self.forget(key)
            return True
        entry.created = {k for k in entry.created if lookup(k) is None}
        entry.deleted = {(k, uid) for k, uid in entry.deleted if _still_there(lookup(k), uid)}
        if entry.created or entry.deleted:
            return False
        self.forget(key)
        return True

    def _entry(self, key: str) -> _Pending:
        entry = self._pending.get(key)
        if entry is None:
            entry = self._pending[key] = _Pending(self._clock.now())
        return entry


def _still_there(obj: Mapping[str, Any] | None, uid: str) -> bool:
    if obj is None:
        return False
    metadata = obj.get("metadata") or {}
    return metadata.get("uid") == uid and metadata.get("deletionTimestamp") is None
