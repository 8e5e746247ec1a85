"""Informers: a local, indexed copy of one collection, kept current by list + watch.

The loop is client-go's reflector (``tools/cache/reflector.go``):

1. list every object (paginated) and replace the cache with the result;
2. watch from the list's resourceVersion with ``allowWatchBookmarks``; each event updates
   the cache, and bookmarks move the resume point without touching it;
3. when a watch ends (``timeoutSeconds``) or the connection breaks, watch again from the
   last resourceVersion seen, with capped back-off on errors (and after a watch that
   ended at once with no events);
4. when the server answers 410 Expired, the history we needed is gone: re-list, and hand
   the handlers the difference (ADDED for new objects, MODIFIED for changed ones, DELETED
   for vanished ones), so nothing that happened in between is missed.

Handlers (``on_add(obj)``, ``on_update(old, new)``, ``on_delete(obj)``) are plain
callables run on the informer's task, in event order. They must be quick and must not
block: enqueue a key into a :class:`~steersman.client.workqueue.WorkQueue` and return;
reconcilers then read the cache. A handler that raises is logged and skipped.

Objects are stored as the server sent them (list items are given the resource's
``kind``/``apiVersion``, which lists omit) and shared with every reader: read-only.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol

from steersman.api.errors import StatusError
from steersman.client.clock import Clock, SystemClock
from steersman.client.errors import ResourceExpired, ServerUnreachable
from steersman.client.indexer import NAMESPACE_INDEX, Indexer, IndexFunc, by_namespace, key_of
from steersman.client.resource import Resource

log = logging.getLogger(__name__)

Object = dict[str, Any]
AddHandler = Callable[[Object], None]
UpdateHandler = Callable[[Object, Object], None]
DeleteHandler = Callable[[Object], None]


class EventStream(Protocol):
    """What an informer needs of a watch: events, the resume point, and a context."""

    resource_version: str

    async def __aenter__(self) -> EventStream: ...

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None: ...

    def __aiter__(self) -> AsyncIterator[tuple[str, Object]]: ...


class ListerWatcher(Protocol):
    """The two verbs an informer uses (:class:`~steersman.client.rest.Client` has both)."""

    async def list_all(self, resource: Resource, *, namespace: str = "",
                       label_selector: str = "", field_selector: str = "",
                       page_size: int = 500) -> Object: ...

    def watch(self, resource: Resource, *, namespace: str = "", resource_version: str = "",
              label_selector: str = "", field_selector: str = "",
              timeout_seconds: int | None = None,
              allow_bookmarks: bool = True) -> EventStream: ...


class Informer:
    """List + watch one resource into an :class:`Indexer`; call handlers on every change."""

    def __init__(self, client: ListerWatcher, resource: Resource, *, namespace: str = "",
                 label_selector: str = "", field_selector: str = "",
                 indexers: Mapping[str, IndexFunc] | None = None,
                 resync_period: float | None = None, clock: Clock | None = None,
                 rng: random.Random | None = None, page_size: int = 500,
                 watch_timeout: tuple[int, int] = (300, 600)) -> None:
        self._client = client
        self.resource = resource
        self._selection = {"namespace": namespace, "label_selector": label_selector,
                           "field_selector": field_selector}
        self.indexer = Indexer({NAMESPACE_INDEX: by_namespace, **(indexers or {})})
        self._resync_period = resync_period
        self._clock: Clock = clock or SystemClock()
        self._rng = rng or random.Random()
        self._page_size = page_size
        self._watch_timeout = watch_timeout
        self._handlers: list[_Handlers] = []
        self._synced = asyncio.Event()
        self.resource_version = ""

    def add_handlers(self, *, on_add: AddHandler | None = None,
                     on_update: UpdateHandler | None = None,
                     on_delete: DeleteHandler | None = None) -> None:
        """Register handlers; add them before :meth:`run` so they see the initial list."""
        self._handlers.append(_Handlers(on_add, on_update, on_delete))

    @property
    def has_synced(self) -> bool:
        """Whether the first list has been loaded into the cache."""
        return self._synced.is_set()

    async def wait_synced(self) -> None:
        await self._synced.wait()

    async def run(self) -> None:
        """Keep the cache current until cancelled."""
        resync = None
        if self._resync_period:
            resync = asyncio.create_task(self._resync_loop(self._resync_period))
        try:
            await self._reflect()
        finally:
            if resync is not None:
                resync.cancel()

    async def _reflect(self) -> None:
        backoff = _Backoff(self._clock)
        must_list = True
        while True:
            try:
                if must_list:
                    await self._relist()
                    must_list = False
                if await self._watch():
                    backoff.reset()
                else:
                    await backoff.sleep()
            except ResourceExpired as err:
                log.info("%s: %s; re-listing", self.resource.plural, err.message)
                must_list = True
            except (ServerUnreachable, StatusError) as err:
                log.warning("%s: list/watch failed: %s", self.resource.plural, err)
                await backoff.sleep()

    async def _relist(self) -> None:
        listed = await self._client.list_all(self.resource, page_size=self._page_size,
                                             **self._selection)
        fresh = {key_of(obj): self._typed(obj) for obj in listed.get("items") or []}
        cached = self.indexer.keys()
        for key in cached:
            if key not in fresh:
                self._deleted(key, self.indexer.get(key) or {})
        for obj in fresh.values():
            self._upserted(obj)
        self.resource_version = str((listed.get("metadata") or {}).get("resourceVersion") or "")
        self._synced.set()

    async def _watch(self) -> bool:
        """Watch until the stream ends; False if it ended at once with nothing in it."""
        timeout = self._rng.randint(*self._watch_timeout)
        stream = self._client.watch(self.resource, resource_version=self.resource_version,
                                    timeout_seconds=timeout, allow_bookmarks=True,
                                    **self._selection)
        started, events = self._clock.now(), 0
        async with stream:
            try:
                async for kind, obj in stream:
                    self._apply(kind, obj)
                    self.resource_version = stream.resource_version
                    events += 1
            finally:
                self.resource_version = stream.resource_version or self.resource_version
        # As client-go: an empty watch that ends within a second is a server problem, and
        # re-watching at once would spin.
        return events > 0 or self._clock.now() - started >= 1.0

    def _apply(self, kind: str, obj: Object) -> None:
        if kind == "DELETED":
            self._deleted(key_of(obj), obj)
        else:
            self._upserted(obj)

    def _upserted(self, obj: Object) -> None:
        old = self.indexer.get(key_of(obj))
        if old is not None and _revision(old) == _revision(obj):
            return  # the same revision again (a replay or an unchanged re-list): nothing new
        self.indexer.upsert(obj)
        for handlers in self._handlers:
            if old is None:
                _call(handlers.on_add, obj)
            else:
                _call(handlers.on_update, old, obj)

    def _deleted(self, key: str, obj: Object) -> None:
        if self.indexer.delete(key) is not None:
            for handlers in self._handlers:
                _call(handlers.on_delete, obj)

    async def _resync_loop(self, period: float) -> None:
        while True:
            await self._clock.sleep(period)
            for obj in self.indexer.list():
                for handlers in self._handlers:
                    _call(handlers.on_update, obj, obj)

    def _typed(self, obj: Object) -> Object:
        if self.resource.kind:
            obj.setdefault("kind", self.resource.kind)
            obj.setdefault("apiVersion", self.resource.api_version)
        return obj


@dataclass(frozen=True)
class _Handlers:
    on_add: AddHandler | None
    on_update: UpdateHandler | None
    on_delete: DeleteHandler | None


def _call(handler: Callable[..., None] | None, *args: Object) -> None:
    if handler is None:
        return
    try:
        handler(*args)
    except Exception:
        log.exception("event handler %r failed", handler)


def _revision(obj: Object) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


class _Backoff:
    """0.8 s doubling to 30 s between failed attempts (client-go's reflector defaults)."""

    def __init__(self, clock: Clock, initial: float = 0.8, cap: float = 30.0) -> None:
        self._clock = clock
        self._initial = initial
        self._cap = cap
        self._next = initial

    def reset(self) -> None:
        self._next = self._initial

    async def sleep(self) -> None:
        delay, self._next = self._next, min(self._next * 2, self._cap)
        await self._clock.sleep(delay)
