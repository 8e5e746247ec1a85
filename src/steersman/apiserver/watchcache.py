"""The watch cache: every object in memory, fed by one store watch, serving lists and watches.

One :class:`WatchCache` per API server follows the store from a consistent snapshot (one
list of ``/registry/`` at a revision, then a watch from that revision) and dispatches each
change to the :class:`ResourceCache` of its resource (found by key prefix). Each resource
cache keeps the live objects (decoded once, ``metadata.resourceVersion`` set from the
store revision, never mutated afterwards) and a bounded history of recent events, so a
watch from any recent resourceVersion is replayed from memory.

Watchers get events through a bounded buffer: a watcher that stops reading is cut off
(its stream ends and the client re-watches), so a slow client never slows writers.

Reads are consistent: :meth:`WatchCache.wait_for` blocks until the cache has applied a
given store revision, which the API server uses to serve lists that include every write
acknowledged before the list began (as kube-apiserver's consistent reads from cache).
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import contextlib
import logging
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from steersman.store.interface import Compacted, Event, EventType, Store

log = logging.getLogger(__name__)

Object = dict[str, Any]
Predicate = Callable[[Object], bool]

HISTORY_CAPACITY = 10_000
_ADOPTED_LIMIT = 4_096  # writes in flight whose objects were handed over (see adopt)
WATCHER_BUFFER = 10_000
_LIST_PAGE = 5_000
_TIMER_SLACK = 0.001  # a reader's timer this close to its deadline times it out (s)


@dataclass(slots=True)
class CachedEvent:
    type: str  # ADDED, MODIFIED, DELETED
    obj: Object
    prev: Object | None
    revision: int
    _lines: dict[str, bytes] | None = field(default=None, repr=False, compare=False)

    def line(self, kind: str) -> bytes:
        """The watch stream line ``{"type": kind, "object": obj}\\n``, encoded once.

        ``kind`` is the type as one watcher sees it (a MODIFIED can be ADDED or DELETED
        through a selector), so at most three encodings exist however many watchers read
        the event; ``obj`` is never mutated once cached, which keeps the bytes valid.
        """
        lines = self._lines
        if lines is None:
            lines = self._lines = {}
        encoded = lines.get(kind)
        if encoded is None:
            encoded = lines[kind] = orjson.dumps({"type": kind, "object": self.obj}) + b"\n"
        return encoded


def decode_object(value: bytes, revision: int) -> Object:
    obj: Object = orjson.loads(value)
    obj.setdefault("metadata", {})["resourceVersion"] = str(revision)
    return obj


def resource_prefix(key: str) -> str:
    """``/registry/apps/deployments/ns/name`` → ``/registry/apps/deployments/``."""
    cut = key.find("/", key.find("/", 10) + 1)
    return key[: cut + 1]


class Watcher:
    """One client's subscription: a bounded event buffer and a wake-up signal.

    The wake-up is one future, created only while the reader waits on an empty buffer, and
    resolved by the first :meth:`offer`; a fan-out to many idle watchers therefore costs a
    deque append and one ``set_result`` each, with no task or timer per event. The reader's
    timeout is one timer that outlives the waits: a wait whose deadline is no earlier than
    the armed timer's keeps it, and a timer that fires before the current deadline re-arms
    itself for the rest (a watch stream waits with a 5 s timeout after every batch it sends,
    and would otherwise schedule and cancel a timer per batch).
    """

    def __init__(self, predicate: Predicate, limit: int = WATCHER_BUFFER, *,
                 selection: Hashable = None) -> None:
        """``selection``: what the predicate selects by (namespace, selectors), when known;
        watchers with equal selections share one evaluation of the filter per event (the
        hollow nodes' processes all watch pods with ``spec.nodeName!=``, for example)."""
        self._predicate = predicate
        self._selection = selection
        self._limit = limit
        self._pending: collections.deque[tuple[str, CachedEvent]] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None
        self._deadline = 0.0  # loop time at which the current wait times out
        self._timer: asyncio.TimerHandle | None = None
        self.overflowed = False
        self.closed = False

    def offer(self, event: CachedEvent, seen: dict[Hashable, str | None] | None = None) -> None:
        """Queue ``event`` if the filter passes it; ``seen`` memoizes the filter's answers
        for one event across watchers, by selection."""
        if self.closed:
            return
        selection = self._selection
        if seen is None or selection is None:
            kind = self._visible_type(event)
        elif selection in seen:
            kind = seen[selection]
        else:
            kind = seen[selection] = self._visible_type(event)
        if kind is None:
            return
        if len(self._pending) >= self._limit:
            self.overflowed = True
            self.closed = True
        else:
            self._pending.append((kind, event))
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _visible_type(self, event: CachedEvent) -> str | None:
        """The event type as seen through this watcher's filter (kube-apiserver rules)."""
        now = self._predicate(event.obj)
        if event.type != "MODIFIED":
            return event.type if now else None
        before = event.prev is not None and self._predicate(event.prev)
        if now:
            return "MODIFIED" if before else "ADDED"
        return "DELETED" if before else None

    def close(self) -> None:
        self.closed = True
        self._wake()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def next_batch(self, timeout: float | None) -> list[tuple[str, CachedEvent]] | None:
        """Pending events; ``[]`` on timeout; ``None`` once closed and drained."""
        if not self._pending and not self.closed:
            await self._wait(timeout)
        if self._pending:
            batch = list(self._pending)
            self._pending.clear()
            return batch
        return None if self.closed else []

    async def _wait(self, timeout: float | None) -> None:
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        if timeout is None:
            self._deadline = float("inf")
        else:
            self._deadline = deadline = loop.time() + timeout
            timer = self._timer
            if timer is None or timer.when() > deadline:
                if timer is not None:
                    timer.cancel()
                self._timer = loop.call_at(deadline, self._on_timer)
        try:
            await waiter
        finally:
            self._waiter = None

    def _on_timer(self) -> None:
        """Time out the waiting reader if its deadline has come, else wait for the rest."""
        self._timer = None
        waiter = self._waiter
        if waiter is None or waiter.done() or self._deadline == float("inf"):
            return  # the next wait arms a timer of its own
        loop = waiter.get_loop()
        if self._deadline - loop.time() <= _TIMER_SLACK:
            waiter.set_result(None)
        else:
            self._timer = loop.call_at(self._deadline, self._on_timer)


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


@dataclass
class ResourceCache:
    prefix: str
    oldest_revision: int
    objects: dict[str, Object] = field(default_factory=dict)
    history: collections.deque[CachedEvent] = field(default_factory=collections.deque)
    watchers: set[Watcher] = field(default_factory=set)
    _sorted_keys: list[str] | None = None

    def apply(self, event: Event, adopted: Object | None = None) -> CachedEvent:
        """Apply one store event; ``adopted`` is the object the write encoded, if the
        writer handed it over (:meth:`WatchCache.adopt`), so it need not be decoded."""
        key = event.kv.key
        prev = self.objects.get(key)
        revision = event.kv.mod_revision
        if adopted is not None:
            obj = adopted
            obj["metadata"]["resourceVersion"] = str(revision)
        elif event.type is EventType.DELETE and prev is not None:
            # The deleted value is the cached one: share it, with the delete's revision.
            obj = {**prev, "metadata": {**prev["metadata"], "resourceVersion": str(revision)}}
        else:
            obj = decode_object(event.kv.value, revision)
        if event.type is EventType.DELETE:
            self.objects.pop(key, None)
            kind = "DELETED"
        else:
            self.objects[key] = obj
            kind = "ADDED" if prev is None else "MODIFIED"
        if prev is None or event.type is EventType.DELETE:
            self._sorted_keys = None
        cached = CachedEvent(kind, obj, prev, event.kv.mod_revision)
        self._remember(cached)
        seen: dict[Hashable, str | None] = {}
        for watcher in list(self.watchers):
            watcher.offer(cached, seen)
        return cached

    def _remember(self, event: CachedEvent) -> None:
        self.history.append(event)
        if len(self.history) > HISTORY_CAPACITY:
            self.oldest_revision = self.history.popleft().revision

    def load(self, key: str, obj: Object) -> None:
        self.objects[key] = obj
        self._sorted_keys = None

    def keys_from(self, prefix: str, start_after: str) -> Iterator[str]:
        """Keys under ``prefix`` in order, strictly after ``start_after``."""
        if self._sorted_keys is None:
            self._sorted_keys = sorted(self.objects)
        keys = self._sorted_keys
        begin = bisect.bisect_right(keys, start_after) if start_after > prefix else (
            bisect.bisect_left(keys, prefix)
        )
        for index in range(begin, len(keys)):
            key = keys[index]
            if not key.startswith(prefix):
                return
            yield key

    def events_after(self, revision: int) -> list[CachedEvent]:
        """Every retained event newer than ``revision``; raises Compacted if some are gone."""
        if revision < self.oldest_revision:
            raise Compacted(revision, self.oldest_revision)
        events = self.history
        if not events or events[-1].revision <= revision:
            return []
        return [e for e in events if e.revision > revision]


class WatchCache:
    """All resource caches, fed from one store watch over ``/registry/``."""

    def __init__(self, store: Store, root: str = "/registry/") -> None:
        self._store = store
        self._root = root
        self._caches: dict[str, ResourceCache] = {}
        self.revision = 0
        self._start_revision = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None
        self._listeners: list[Callable[[str, CachedEvent], None]] = []
        self._adopted: dict[int, tuple[bytes, Object]] = {}
        self.ready = asyncio.Event()

    async def start(self) -> None:
        revision = await self._load_snapshot()
        self.revision = self._start_revision = revision
        self._task = asyncio.create_task(self._follow(revision), name="watch-cache")
        self.ready.set()

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for cache in self._caches.values():
            for watcher in list(cache.watchers):
                watcher.close()

    def adopt(self, value: bytes, obj: Object) -> None:
        """``value`` is about to be written, and it is the encoding of ``obj``: when the
        store's event for that very write arrives (the same bytes object), cache ``obj``
        instead of decoding ``value`` again.

        The writer hands ``obj`` over: nothing changes it afterwards but its
        ``metadata.resourceVersion``, set to the store revision by both sides. Stores whose
        events carry other bytes (etcd's come over the wire) simply decode as before; a
        write that fails leaves an entry that ages out of the bounded table.
        """
        adopted = self._adopted
        adopted[id(value)] = (value, obj)
        if len(adopted) > _ADOPTED_LIMIT:
            del adopted[next(iter(adopted))]

    def add_listener(self, listener: Callable[[str, CachedEvent], None]) -> None:
        """Called synchronously for every applied event with the resource prefix."""
        self._listeners.append(listener)

    async def _load_snapshot(self) -> int:
        revision, start_after = 0, ""
        while True:
            page = await self._store.list(self._root, revision=revision, limit=_LIST_PAGE,
                                          start_after=start_after)
            revision = page.revision
            for kv in page.items:
                self.cache_for(resource_prefix(kv.key)).load(
                    kv.key, decode_object(kv.value, kv.mod_revision))
            if not page.more or not page.items:
                return revision
            start_after = page.items[-1].key

    async def _follow(self, revision: int) -> None:
        while True:
            try:
                async for batch in self._store.watch(self._root, after_revision=revision):
                    for event in batch:
                        self._apply(event)
                        revision = event.kv.mod_revision
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("watch cache lost the store watch; resuming from %d", revision)
                await asyncio.sleep(0.5)

    def _apply(self, event: Event) -> None:
        prefix = resource_prefix(event.kv.key)
        adopted = None
        if self._adopted and event.type is not EventType.DELETE:
            entry = self._adopted.pop(id(event.kv.value), None)
            if entry is not None and entry[0] is event.kv.value:
                adopted = entry[1]
        cached = self.cache_for(prefix).apply(event, adopted)
        self.revision = event.kv.mod_revision
        for listener in self._listeners:
            listener(prefix, cached)
        if self._waiters:
            self._wake_waiters()

    def _wake_waiters(self) -> None:
        still: list[tuple[int, asyncio.Future[None]]] = []
        for revision, future in self._waiters:
            if revision <= self.revision:
                if not future.done():
                    future.set_result(None)
            else:
                still.append((revision, future))
        self._waiters = still

    def cache_for(self, prefix: str) -> ResourceCache:
        cache = self._caches.get(prefix)
        if cache is None:
            cache = ResourceCache(prefix, self._start_revision)
            self._caches[prefix] = cache
        return cache

    async def wait_for(self, revision: int, timeout: float = 3.0) -> None:
        """Block until the cache has applied ``revision`` (or ``timeout`` passes)."""
        if revision <= self.revision:
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._waiters.append((revision, future))
        timer = loop.call_later(timeout, _expire, future)  # cheaper than asyncio.wait_for
        try:
            await future
        finally:
            timer.cancel()

    async def sync(self) -> None:
        """Catch up with the store's current revision (a consistent read)."""
        await self.wait_for(await self._store.current_revision())
