"""The in-process way to the API: what a client needs of an API server in its own process.

Components that run inside ``steersman server`` (the controller manager, the scheduler, DNS,
the ingress controller) use the API exactly as remote ones do — same routing, admission,
validation, field management, the same Status errors — but a request need not cross a
socket, TLS and an HTTP parser to reach a server a function call away. A :class:`Client`
given a :class:`LocalServer` sends its requests there instead of over HTTPS; everything
above the transport (throttling, retries on 429/5xx, Status errors, informers) is the same.

Watches are where the saving is largest: a local watch yields the API server's own cached
objects (the watch cache never mutates an object once cached), so an event costs neither
an encode nor a decode. Those objects are shared with the server: read-only, as informer
objects already are (client-go's rule). :func:`~steersman.api.frozen.freeze` lets tests
enforce that.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from steersman.api.frozen import FrozenDict, FrozenList, FrozenObjectError, freeze, thaw

Object = dict[str, Any]
Params = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class LocalResponse:
    """An answer as the transport sees it: status, headers and the encoded body."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    async def read(self) -> bytes:
        return self.body

    def close(self) -> None:
        """Nothing to release (the name matches aiohttp's response)."""


class LocalServer(Protocol):
    """An API server reachable by function call (``steersman.apiserver.local`` has one)."""

    async def request(self, method: str, path: str, params: Params, body: bytes | None,
                      content_type: str, headers: Mapping[str, str]) -> LocalResponse: ...

    def watch(self, path: str, params: Params, headers: Mapping[str, str]) -> LocalWatch:
        """``(type, object)`` pairs as a watch response's lines carry them, ``BOOKMARK``
        and ``ERROR`` (a Status) included; the iteration ends where the stream would."""
        ...


# The events of one local watch, and how to end it (unsubscribing at once).
LocalWatch = tuple[AsyncIterator[tuple[str, Object]], Callable[[], None]]


__all__ = ["FrozenDict", "FrozenList", "FrozenObjectError", "LocalResponse", "LocalServer",
           "LocalWatch", "freeze", "thaw"]
