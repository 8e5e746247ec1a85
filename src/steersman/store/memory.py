"""In-memory store: the reference implementation of the store contract, for unit tests.

Everything lives in dictionaries on the event loop's thread, so every operation is atomic
by construction (no ``await`` between check and write). A per-key version history answers
``list`` at an older revision; an event log answers watch replay; ``compact`` drops both
below the compact revision.

This module also holds :class:`WatchHub` and :func:`follow`, the subscribe → replay →
dedupe-by-revision loop that every in-process backend (memory, sqlite) shares.
"""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from steersman.store.interface import (
    Compacted,
    Conflict,
    Event,
    EventType,
    FutureRevision,
    KeyExists,
    KeyValue,
    ListResult,
    NotFound,
    Unavailable,
)

ReplayPage = Callable[[int], Awaitable[Sequence[Event]]]
"""Returns the next events after a revision (empty when caught up); raises Compacted."""


@dataclass(eq=False)
class Subscription:
    """One watcher's inbox: batches of committed events under ``prefix``; None = closed."""

    prefix: str
    inbox: asyncio.Queue[Sequence[Event] | None] = field(default_factory=asyncio.Queue)


class WatchHub:
    """Fans committed events out to the watchers of one process, in commit order."""

    def __init__(self) -> None:
        self._subscriptions: set[Subscription] = set()

    def subscribe(self, prefix: str) -> Subscription:
        subscription = Subscription(prefix)
        self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    def publish(self, events: Sequence[Event]) -> None:
        """Deliver one committed batch; must be called on the loop, in revision order."""
        for subscription in self._subscriptions:
            matching = [e for e in events if e.kv.key.startswith(subscription.prefix)]
            if matching:
                subscription.inbox.put_nowait(matching)

    def close(self) -> None:
        for subscription in self._subscriptions:
            subscription.inbox.put_nowait(None)
        self._subscriptions.clear()


async def follow(
    hub: WatchHub, prefix: str, after_revision: int, replay: ReplayPage
) -> AsyncIterator[Sequence[Event]]:
    """Subscribe first, replay history page by page, then stream live events.

    The subscription is taken before the first replay read, so an event committed during
    the replay arrives twice at most and never zero times; filtering on the last delivered
    revision removes the duplicates.
    """
    subscription = hub.subscribe(prefix)
    try:
        last = after_revision
        while page := await replay(last):
            yield page
            last = page[-1].kv.mod_revision
        while (batch := await subscription.inbox.get()) is not None:
            fresh = [e for e in batch if e.kv.mod_revision > last]
            if fresh:
                yield fresh
                last = fresh[-1].kv.mod_revision
        raise Unavailable("store closed while watching")
    finally:
        hub.unsubscribe(subscription)


@dataclass(frozen=True, slots=True)
class _Version:
    revision: int
    kv: KeyValue | None  # None: deleted at ``revision``


class MemoryStore:
    """The store contract over dicts: a version history per key plus an event log."""

    def __init__(self) -> None:
        self._revision = 0
        self._compacted = 0
        self._history: dict[str, list[_Version]] = {}
        self._log: list[Event] = []
        self._hub = WatchHub()
        self._closed = False

    async def start(self) -> None:
        self._closed = False

    async def close(self) -> None:
        self._closed = True
        self._hub.close()

    async def current_revision(self) -> int:
        return self._revision

    async def compact_revision(self) -> int:
        return self._compacted

    async def get(self, key: str) -> KeyValue | None:
        self._check_open()
        return self._latest(key)

    async def list(
        self, prefix: str, *, revision: int = 0, limit: int = 0, start_after: str = ""
    ) -> ListResult:
        self._check_open()
        at = self._read_revision(revision)
        keys = sorted(k for k in self._history if k.startswith(prefix) and k > start_after)
        items: list[KeyValue] = []
        for key in keys:
            kv = _at(self._history[key], at)
            if kv is not None:
                items.append(kv)
                if limit and len(items) > limit:
                    return ListResult(revision=at, items=items[:limit], more=True)
        return ListResult(revision=at, items=items, more=False)

    async def count(self, prefix: str) -> int:
        return len((await self.list(prefix)).items)

    async def create(self, key: str, value: bytes) -> KeyValue:
        self._check_open()
        if self._latest(key) is not None:
            raise KeyExists(key)
        kv = KeyValue(key, value, self._revision + 1, self._revision + 1)
        self._commit(Event(EventType.CREATE, kv))
        return kv

    async def update(self, key: str, value: bytes, *, expected_revision: int) -> KeyValue:
        current = self._expect(key, expected_revision)
        kv = KeyValue(key, value, current.create_revision, self._revision + 1)
        self._commit(Event(EventType.UPDATE, kv, prev_kv=current))
        return kv

    async def delete(self, key: str, *, expected_revision: int = 0) -> KeyValue:
        current = self._expect(key, expected_revision)
        kv = KeyValue(key, current.value, current.create_revision, self._revision + 1)
        self._commit(Event(EventType.DELETE, kv, prev_kv=current))
        return kv

    def watch(self, prefix: str, *, after_revision: int) -> AsyncIterator[Sequence[Event]]:
        self._check_open()

        async def replay(last: int) -> Sequence[Event]:
            self._check_watchable(last)
            start = bisect.bisect_right(self._log, last, key=lambda e: e.kv.mod_revision)
            return [e for e in self._log[start:] if e.kv.key.startswith(prefix)]

        return follow(self._hub, prefix, after_revision, replay)

    async def compact(self, revision: int) -> None:
        self._check_open()
        if revision > self._revision:
            raise FutureRevision(revision, self._revision)
        if revision <= self._compacted:
            return
        self._compacted = revision
        for key in list(self._history):
            kept = _compacted_versions(self._history[key], revision)
            if kept:
                self._history[key] = kept
            else:
                del self._history[key]
        start = bisect.bisect_right(self._log, revision, key=lambda e: e.kv.mod_revision)
        del self._log[:start]

    def _commit(self, event: Event) -> None:
        self._revision = event.kv.mod_revision
        version = None if event.type is EventType.DELETE else event.kv
        self._history.setdefault(event.kv.key, []).append(_Version(self._revision, version))
        self._log.append(event)
        self._hub.publish([event])

    def _expect(self, key: str, expected_revision: int) -> KeyValue:
        self._check_open()
        current = self._latest(key)
        if current is None:
            raise NotFound(key)
        if expected_revision and current.mod_revision != expected_revision:
            raise Conflict(key, current)
        return current

    def _latest(self, key: str) -> KeyValue | None:
        versions = self._history.get(key)
        return versions[-1].kv if versions else None

    def _read_revision(self, revision: int) -> int:
        if revision == 0:
            return self._revision
        if revision > self._revision:
            raise FutureRevision(revision, self._revision)
        if revision < self._compacted:
            raise Compacted(revision, self._compacted)
        return revision

    def _check_watchable(self, last: int) -> None:
        self._check_open()
        if last < self._compacted:
            raise Compacted(last, self._compacted)

    def _check_open(self) -> None:
        if self._closed:
            raise Unavailable("store closed")


def _at(versions: Sequence[_Version], revision: int) -> KeyValue | None:
    index = bisect.bisect_right(versions, revision, key=lambda v: v.revision)
    return versions[index - 1].kv if index else None


def _compacted_versions(versions: list[_Version], revision: int) -> list[_Version]:
    """Keep what answers reads at ``revision`` and later: the state at it, then newer."""
    index = bisect.bisect_right(versions, revision, key=lambda v: v.revision)
    base = versions[index - 1] if index else None
    newer = versions[index:]
    return ([base] if base is not None and base.kv is not None else []) + newer
