"""The API server for clients in its own process (:mod:`steersman.client.local`).

The controller manager, the scheduler, DNS and the ingress controller run inside
``steersman server``; their requests reach :class:`LocalEndpoint` by function call and take
the same road as HTTPS requests from there on — routing, the handlers, admission,
validation, field management, Status errors — as the identity the endpoint was made for.
What they skip is the socket, TLS, HTTP parsing and, for watches, encoding and decoding:
a local watch hands out the watch cache's own objects.

Streams other than watches (``log``, ``exec``, ``attach``, ``portforward``, ``proxy``) need a
connection; an in-process client asking for one gets a 400 saying so.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any, cast

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy, MultiDict, MultiDictProxy

from steersman.api import errors
from steersman.apiserver import negotiation as neg
from steersman.apiserver.app import APIServer
from steersman.apiserver.authn import UserInfo
from steersman.apiserver.requestinfo import RequestInfo, parse_resource_path
from steersman.client.local import LocalResponse, LocalWatch, Params, freeze

Object = dict[str, Any]
_CONNECTION_STREAMS = frozenset({"log", "exec", "attach", "portforward", "proxy"})
_closing: set[asyncio.Task[None]] = set()


class LocalEndpoint:
    """Serves :class:`~steersman.client.local.LocalServer` calls as ``user``.

    ``freeze_watched``: hand watchers frozen copies instead of the cache's objects, so that
    a reader that changes one in place fails loudly (tests turn it on).
    """

    def __init__(self, api: APIServer, user: UserInfo, *, freeze_watched: bool = False) -> None:
        self._api = api
        self._user = user
        self._freeze = freeze_watched

    async def request(self, method: str, path: str, params: Params, body: bytes | None,
                      content_type: str, headers: Mapping[str, str]) -> LocalResponse:
        request = LocalRequest(method, path, params, body, content_type, headers, self._user)
        aiohttp_request = cast(web.Request, request)
        try:
            _refuse_streams(path, params)
            response = await self._api.route(aiohttp_request)
        except Exception as exc:  # translated as the HTTP middleware does
            response = self._api.error_response(aiohttp_request, exc)
        if not isinstance(response, web.Response) or not isinstance(response.body, bytes):
            response = self._api.error_response(aiohttp_request, errors.internal_error(
                f"{method} {path} answered with a stream, which in-process clients "
                "cannot read"))
        return LocalResponse(response.status, cast(bytes, response.body),
                             dict(response.headers))

    def watch(self, path: str, params: Params, headers: Mapping[str, str]) -> LocalWatch:
        request = LocalRequest("GET", path, params, None, "", headers, self._user)
        events = self._events(request)
        return events, lambda: _close_later(events)

    async def _events(self, request: LocalRequest) -> AsyncIterator[tuple[str, Object]]:
        aiohttp_request = cast(web.Request, request)
        ri = parse_resource_path(request.path.rstrip("/"))
        try:
            if ri is None or not ri.resource:
                raise errors.StatusError(404, "NotFound",
                                         "the server could not find the requested resource")
            info = self._api.resource_info(ri)
            if not self._api.watched_from_cache(info) or ri.subresource:
                raise errors.method_not_allowed("watch", info.plural)
        except errors.StatusError as exc:
            yield "ERROR", exc.to_status()
            return
        async for kind, obj in self._api.watches.events(aiohttp_request, info, ri):
            yield kind, (freeze(obj) if self._freeze else obj)


def _refuse_streams(path: str, params: Params) -> None:
    if params.get("watch") in ("true", "1"):
        raise errors.bad_request("in-process clients watch through LocalEndpoint.watch")
    ri: RequestInfo | None = parse_resource_path(path.rstrip("/"))
    if ri is not None and ri.subresource in _CONNECTION_STREAMS:
        raise errors.bad_request(
            f"{ri.resource}/{ri.subresource} is a stream and needs a connection: "
            "in-process clients cannot use it (use an HTTPS client)")


def _close_later(events: AsyncIterator[tuple[str, Object]]) -> None:
    """End a local watch the reader stopped: its ``finally`` unsubscribes the watcher."""
    closer = getattr(events, "aclose", None)
    if closer is not None:
        try:
            task = asyncio.get_running_loop().create_task(closer())
        except RuntimeError:  # no loop: the generator is finalised with it
            return
        _closing.add(task)  # held until done: the loop keeps only weak references
        task.add_done_callback(_closing.discard)


class _Body:
    """``request.content``: the body, read in pieces as aiohttp's ``StreamReader`` is."""

    __slots__ = ("_data", "_offset")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._offset = 0

    async def read(self, n: int = -1) -> bytes:
        start = self._offset
        end = len(self._data) if n < 0 else min(len(self._data), start + n)
        self._offset = end
        return self._data[start:end]


class LocalRequest(dict[str, Any]):
    """What the handlers read of an aiohttp ``web.Request``, for a call in this process:
    method, path, query, headers, the body, and the authenticated user as ``["user"]``.
    There is no connection (``transport`` and ``protocol`` are ``None``)."""

    __slots__ = (
        "content",
        "content_length",
        "headers",
        "method",
        "path",
        "protocol",
        "query",
        "transport",
    )

    def __init__(self, method: str, path: str, params: Params, body: bytes | None,
                 content_type: str, headers: Mapping[str, str], user: UserInfo) -> None:
        super().__init__(user=user)
        self.method = method
        self.path = path
        self.query: MultiDictProxy[str] = MultiDictProxy(MultiDict(params))
        merged: CIMultiDict[str] = CIMultiDict(headers)
        merged.setdefault("Accept", neg.JSON)
        if body is not None:
            merged["Content-Type"] = content_type
        self.headers: CIMultiDictProxy[str] = CIMultiDictProxy(merged)
        self.content_length = None if body is None else len(body)
        self.content = _Body(body or b"")
        self.transport = None
        self.protocol = None
