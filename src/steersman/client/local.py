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
objects already are (client-go's rule). :func:`freeze` lets tests enforce that.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol

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


class FrozenObjectError(TypeError):
    """A shared (read-only) object was about to be changed in place."""


def _refuse(*_: object, **__: object) -> NoReturn:
    raise FrozenObjectError("objects from an informer (or a local watch) are shared and "
                            "read-only: copy before changing them")


class FrozenDict(dict[str, Any]):
    """A dict that refuses in-place changes; copies (``copy``/``deepcopy``) are plain."""

    __slots__ = ()
    __setitem__ = __delitem__ = _refuse
    clear = pop = popitem = setdefault = update = __ior__ = _refuse

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        return {key: thaw(item) for key, item in self.items()}

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (dict(self),))


class FrozenList(list[Any]):
    """A list that refuses in-place changes; copies are plain."""

    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = extend = insert = pop = remove = clear = sort = reverse = _refuse

    def __copy__(self) -> list[Any]:
        return list(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Any]:
        return [thaw(item) for item in self]

    def __reduce__(self) -> tuple[Any, ...]:
        return (list, (list(self),))


def freeze(value: Any) -> Any:
    """A read-only deep copy of a JSON-shaped value (for tests that check sharing rules)."""
    if isinstance(value, dict):
        frozen = FrozenDict()
        for key, item in value.items():
            dict.__setitem__(frozen, key, freeze(item))
        return frozen
    if isinstance(value, list):
        return FrozenList(freeze(item) for item in value)
    return value


def thaw(value: Any) -> Any:
    """A plain, mutable deep copy of a JSON-shaped value."""
    if isinstance(value, dict):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, list):
        return [thaw(item) for item in value]
    return value
