"""One watch request as an async iterator of ``(type, object)`` events.

The server answers ``?watch=true`` with newline-delimited JSON events (K8S-API §9.1).
:class:`WatchStream` yields ``ADDED``, ``MODIFIED`` and ``DELETED`` events; ``BOOKMARK``
events are consumed here and only advance :attr:`WatchStream.resource_version`, the
revision to resume from; an ``ERROR`` event raises its Status as an exception —
:class:`~steersman.client.errors.ResourceExpired` for 410, the caller's cue to re-list.
The iteration ends when the server closes the stream (``timeoutSeconds``); a broken
connection raises :class:`~steersman.client.errors.ServerUnreachable`.

Use it as ``async with client.watch(...) as stream: async for type, obj in stream``, so
the connection is released however the loop ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any

import aiohttp
import orjson

from steersman.client.errors import ServerUnreachable, from_status

Object = dict[str, Any]
Event = tuple[str, Object]


class EventSource:
    """An open watch: its raw ``(type, object)`` pairs (bookmarks and errors included)
    and how to release it."""

    def __init__(self, events: AsyncIterator[Event], close: Callable[[], None]) -> None:
        self.events = events
        self.close = close

    @classmethod
    def of_response(cls, response: aiohttp.ClientResponse) -> EventSource:
        """The events of a ``?watch=true`` response, one JSON object per line."""
        return cls(_decode(response), response.close)


Opener = Callable[[], Awaitable[EventSource]]

_CHANGES = frozenset({"ADDED", "MODIFIED", "DELETED"})


class WatchStream:
    """The events of one watch; opened on entry or on the first iteration."""

    def __init__(self, open_source: Opener, *, resource_version: str = "") -> None:
        self._open_source = open_source
        self._source: EventSource | None = None
        self._events: AsyncIterator[Event] | None = None
        self.resource_version = resource_version

    async def __aenter__(self) -> WatchStream:
        await self._open()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def __aiter__(self) -> WatchStream:
        return self

    async def __anext__(self) -> Event:
        if self._events is None:
            await self._open()
            assert self._events is not None
        try:
            return await self._events.__anext__()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Release the connection (idempotent)."""
        if self._source is not None:
            self._source.close()

    async def _open(self) -> None:
        if self._source is None:
            self._source = await self._open_source()
            self._events = self._changes(self._source.events)

    async def _changes(self, raw: AsyncIterator[Event]) -> AsyncIterator[Event]:
        async for kind, obj in raw:
            if kind == "ERROR":
                raise from_status(obj)
            self.resource_version = _resource_version(obj) or self.resource_version
            if kind in _CHANGES:
                yield kind, obj


async def _decode(response: aiohttp.ClientResponse) -> AsyncIterator[Event]:
    async for line in _lines(response):
        event = orjson.loads(line)
        yield str(event.get("type", "")), event.get("object") or {}


async def _lines(response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    """Complete lines of the body, however the chunks split them (no line-length limit)."""
    pending = b""
    try:
        async for chunk in response.content.iter_any():
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if line.strip():
                    yield line
    except (TimeoutError, aiohttp.ClientError) as err:
        raise ServerUnreachable(f"watch stream broke: {err or type(err).__name__}") from err
    if pending.strip():
        yield pending


def _resource_version(obj: Object) -> str:
    metadata = obj.get("metadata")
    return str(metadata.get("resourceVersion") or "") if isinstance(metadata, dict) else ""
