"""Watch streams: newline-delimited JSON events over a chunked response, from the watch cache.

``resourceVersion`` absent or ``"0"``: synthetic ADDED events for the current state, then
changes; ``N``: every change after N (replayed from the cache's history) — or one ERROR
event with 410 Expired when N is older than the history. ``timeoutSeconds`` ends the stream;
``allowWatchBookmarks`` adds BOOKMARK events while the stream is idle. A watcher that
stops reading is cut off when its buffer fills, without slowing anyone else.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from aiohttp import web

from steersman.api import errors
from steersman.api.custom_resources import served_object
from steersman.api.resources import ResourceInfo
from steersman.api.selectors import parse_field_selector
from steersman.apiserver import negotiation as neg
from steersman.apiserver.generic import ListOptions, matches
from steersman.apiserver.handlers import list_options
from steersman.apiserver.requestinfo import RequestInfo
from steersman.apiserver.watchcache import (
    CachedEvent,
    Predicate,
    ResourceCache,
    WatchCache,
    Watcher,
)
from steersman.store.interface import Compacted

Object = dict[str, Any]
BOOKMARK_INTERVAL = 5.0
DEFAULT_TIMEOUT = (1800, 3600)


class WatchHandler:
    def __init__(self, cache: WatchCache) -> None:
        self._cache = cache

    async def watch(self, request: web.Request, info: ResourceInfo,
                    ri: RequestInfo) -> web.StreamResponse:
        options = list_options(request, info)
        if ri.name:
            options = _with_name(request, info, ri.name)
        cache = self._cache.cache_for(info.storage_prefix)
        prefix = info.namespace_prefix(ri.namespace)
        watcher = Watcher(_predicate(info, ri.namespace, options),
                          selection=_selection(request, ri))
        initial = self._initial(cache, prefix, options, watcher)
        response = web.StreamResponse(headers={"Content-Type": neg.JSON})
        response.enable_chunked_encoding()
        await response.prepare(request)
        stream = _EventWriter(request, response, info)
        try:
            if isinstance(initial, errors.StatusError):
                await stream.error(initial)
                return response
            await stream.send(initial)
            await self._pump(stream, watcher, _timeout(request), _bookmarks(request))
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            watcher.close()  # drops its timer now rather than when it would have fired
            cache.watchers.discard(watcher)
        return response

    async def events(self, request: web.Request, info: ResourceInfo,
                     ri: RequestInfo) -> AsyncIterator[tuple[str, Object]]:
        """The same watch as ``(type, object)`` pairs, for a client in this process.

        Objects are the cache's own (never mutated once cached), not copies: the reader
        must treat them as read-only. A reader that falls behind is cut off as an HTTP
        watcher would be (the iteration ends; it watches again from its last revision).
        """
        options = _with_name(request, info, ri.name) if ri.name else list_options(request, info)
        cache = self._cache.cache_for(info.storage_prefix)
        watcher = Watcher(_predicate(info, ri.namespace, options),
                          selection=_selection(request, ri))
        initial = self._initial(cache, info.namespace_prefix(ri.namespace), options, watcher)
        served = (lambda obj: obj) if info.crd is None else (
            lambda obj: served_object(info, obj))
        try:
            if isinstance(initial, errors.StatusError):
                yield "ERROR", initial.to_status()
                return
            for kind, event in initial:
                yield kind, served(event.obj)
            deadline = time.monotonic() + _timeout(request)
            bookmarks = _bookmarks(request)
            while (left := deadline - time.monotonic()) > 0:
                batch = await watcher.next_batch(min(left, BOOKMARK_INTERVAL))
                if batch is None:
                    return
                for kind, event in batch:
                    yield kind, served(event.obj)
                if not batch and bookmarks:
                    yield "BOOKMARK", _bookmark(info, self._cache.revision)
        finally:
            watcher.close()
            cache.watchers.discard(watcher)

    def _initial(self, cache: ResourceCache, prefix: str, options: ListOptions,
                 watcher: Watcher) -> list[tuple[str, CachedEvent]] | errors.StatusError:
        """Replay or synthesize the first events, and subscribe, without yielding."""
        rv = options.resource_version
        if rv in ("", "0"):
            events = [("ADDED", CachedEvent("ADDED", cache.objects[k], None, 0))
                      for k in cache.keys_from(prefix, "")
                      if matches(cache.objects[k], options)]
        else:
            try:
                replay = cache.events_after(int(rv))
            except Compacted as exc:
                return errors.gone(f"too old resource version: {rv} ({exc.compact_revision})")
            events = []
            for event in replay:
                watcher.offer(event)
        cache.watchers.add(watcher)
        return events

    async def _pump(self, stream: _EventWriter, watcher: Watcher, timeout: float,
                    bookmarks: bool) -> None:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            batch = await watcher.next_batch(min(left, BOOKMARK_INTERVAL))
            if batch is None:
                return
            if batch:
                await stream.send(batch)
            elif bookmarks:
                await stream.bookmark(self._cache.revision)


def _with_name(request: web.Request, info: ResourceInfo, name: str) -> ListOptions:
    base = list_options(request, info)
    field = parse_field_selector(f"metadata.name={name}")
    return ListOptions(label=base.label, field=field, resource_version=base.resource_version)


def _selection(request: web.Request, ri: RequestInfo) -> tuple[str, ...]:
    """What a watch filters by; equal selections on one resource see the same events."""
    query = request.query
    return (ri.namespace, ri.name, query.get("labelSelector", ""),
            query.get("fieldSelector", ""))


def _in_scope(obj: Object, namespace: str, info: ResourceInfo) -> bool:
    return not (namespace and info.namespaced) or obj["metadata"].get("namespace") == namespace


def _predicate(info: ResourceInfo, namespace: str, options: ListOptions) -> Predicate:
    """The watcher's filter; without selectors, just the namespace test (it runs per event)."""
    if options.label is not None or options.field is not None:
        return lambda obj: _in_scope(obj, namespace, info) and matches(obj, options)
    if namespace and info.namespaced:
        return lambda obj: obj["metadata"].get("namespace") == namespace
    return lambda obj: True


def _timeout(request: web.Request) -> float:
    raw = request.query.get("timeoutSeconds", "")
    if raw.isdigit() and int(raw) > 0:
        return float(raw)
    return float(random.randint(*DEFAULT_TIMEOUT))


def _bookmark(info: ResourceInfo, revision: int) -> Object:
    return {"kind": info.kind, "apiVersion": info.api_version,
            "metadata": {"resourceVersion": str(revision)}}


def _bookmarks(request: web.Request) -> bool:
    return request.query.get("allowWatchBookmarks", "") in ("true", "1")


class _EventWriter:
    """Encodes events (raw objects or one-row Tables) and writes one line each."""

    def __init__(self, request: web.Request, response: web.StreamResponse,
                 info: ResourceInfo) -> None:
        self._response = response
        self._info = info
        self._table = neg.wants_table(request)
        self._include = neg.include_object(request)
        self._headers_sent = False
        # Objects served as stored (no Table, no version conversion) share one encoding
        # per event across all watchers; the rest are encoded for this stream.
        self._shared = not self._table and info.crd is None

    async def send(self, batch: list[tuple[str, CachedEvent]]) -> None:
        if not batch:
            return
        if self._shared:
            lines = [event.line(kind) for kind, event in batch]
        else:
            lines = [self._encode(kind, event.obj) for kind, event in batch]
        await self._response.write(lines[0] if len(lines) == 1 else b"".join(lines))

    def _encode(self, kind: str, obj: Object) -> bytes:
        obj = served_object(self._info, obj)
        if self._table:
            obj = neg.table(self._info, [obj], self._include,
                            revision=obj["metadata"].get("resourceVersion", ""),
                            headers=not self._headers_sent)
            self._headers_sent = True
        return orjson.dumps({"type": kind, "object": obj}) + b"\n"

    async def bookmark(self, revision: int) -> None:
        obj = _bookmark(self._info, revision)
        await self._response.write(orjson.dumps({"type": "BOOKMARK", "object": obj}) + b"\n")

    async def error(self, exc: errors.StatusError) -> None:
        with contextlib.suppress(ConnectionResetError):
            await self._response.write(
                orjson.dumps({"type": "ERROR", "object": exc.to_status()}) + b"\n")
