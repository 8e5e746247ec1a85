"""An upgrade-aware tunnel: a client's Upgrade request relayed to a node agent, then raw bytes.

This is kube-apiserver's ``UpgradeAwareHandler`` in small: the request (path rewritten,
upgrade and WebSocket headers kept, the client's own credentials dropped) is sent over a
new TLS connection to the node agent, which authenticates the API server by its client
certificate. If the agent answers ``101 Switching Protocols``, that answer — with the
subprotocol it chose and its ``Sec-WebSocket-Accept`` — goes back to the client and from
then on bytes are copied both ways untouched, so WebSocket (v5/v4 channel protocols,
``SPDY/3.1+portforward.k8s.io``) and plain SPDY/3.1 pass alike. Any other answer becomes the
client's answer. The tunnel ends when either side closes.

The client's connection is taken over the same way aiohttp takes one over for WebSocket:
a payload parser is installed before the 101 is written, so the first upgraded bytes are
never read as HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass

import orjson
from aiohttp import hdrs, web
from multidict import CIMultiDict

from steersman.api import errors

_FORWARDED = ("Connection", "Upgrade", "Sec-WebSocket-Key", "Sec-WebSocket-Version",
              "Sec-WebSocket-Protocol", "X-Stream-Protocol-Version", "User-Agent")
_RETURNED = ("Connection", "Upgrade", "Sec-WebSocket-Accept", "Sec-WebSocket-Protocol",
             "X-Stream-Protocol-Version")
_CHUNK = 64 * 1024
_MAX_ERROR_BODY = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Upstream:
    """Where the tunnel goes: a node agent's address and the path to ask it for."""

    host: str
    port: int
    path_qs: str
    ssl: ssl.SSLContext
    connect_timeout: float = 10.0

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}{self.path_qs}"


@dataclass(frozen=True, slots=True)
class _Head:
    status: int
    reason: str
    headers: CIMultiDict[str]


class _Feed:
    """aiohttp's payload-parser interface, feeding an asyncio StreamReader."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self._reader.feed_data(data)
        return False, b""

    def feed_eof(self) -> None:
        if not self._reader.at_eof():
            self._reader.feed_eof()


def is_upgrade(request: web.Request) -> bool:
    return ("upgrade" in request.headers.get(hdrs.CONNECTION, "").lower()
            and bool(request.headers.get(hdrs.UPGRADE)))


async def tunnel(request: web.Request, upstream: Upstream, *,
                 unreachable: str) -> web.StreamResponse:
    """Relay ``request`` to ``upstream``; a 503 prefixed ``unreachable`` if it cannot be dialled."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(
            upstream.host, upstream.port, ssl=upstream.ssl, server_hostname=upstream.host),
            upstream.connect_timeout)
    except (OSError, TimeoutError, ssl.SSLError) as exc:
        raise errors.service_unavailable(f"{unreachable}: {_describe(exc)}") from exc
    try:
        writer.write(_request_head(request, upstream))
        head = await _read_head(reader)
        if head.status != 101:
            raise await _upstream_error(head, reader)
        return await _relay(request, head, reader, writer)
    finally:
        writer.close()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out connecting"
    return str(exc) or type(exc).__name__


def _request_head(request: web.Request, upstream: Upstream) -> bytes:
    lines = [f"{request.method} {upstream.path_qs} HTTP/1.1",
             f"Host: {upstream.url.split('/')[2]}"]
    for name in _FORWARDED:
        lines += [f"{name}: {value}" for value in request.headers.getall(name, [])]
    if request.method in ("POST", "PUT"):
        lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _read_head(reader: asyncio.StreamReader) -> _Head:
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError) as exc:
        raise errors.service_unavailable(f"the node agent closed the connection: {exc}") from exc
    status_line, *header_lines = raw.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    headers: CIMultiDict[str] = CIMultiDict()
    for line in header_lines:
        name, sep, value = line.partition(":")
        if sep:
            headers.add(name.strip(), value.strip())
    try:
        return _Head(int(parts[1]), parts[2] if len(parts) > 2 else "", headers)
    except (IndexError, ValueError):
        raise errors.service_unavailable(f"the node agent answered {status_line!r}") from None


async def _upstream_error(head: _Head, reader: asyncio.StreamReader) -> errors.StatusError:
    length = head.headers.get(hdrs.CONTENT_LENGTH)
    try:
        body = (await reader.readexactly(min(int(length), _MAX_ERROR_BODY)) if length
                else await reader.read(_MAX_ERROR_BODY))
    except (asyncio.IncompleteReadError, ValueError, ConnectionError):
        body = b""
    return status_error_from(head.status, body)


def status_error_from(code: int, body: bytes) -> errors.StatusError:
    """The node agent's error answer as a StatusError (its Status, or its text)."""
    try:
        status = orjson.loads(body)
    except orjson.JSONDecodeError:
        status = None
    if isinstance(status, dict) and status.get("kind") == "Status":
        return errors.StatusError(int(status.get("code") or code), str(status.get("reason", "")),
                                  str(status.get("message", "")), status.get("details") or {})
    text = body.decode(errors="replace").strip() or f"the node agent answered {code}"
    return errors.StatusError(code, "", text)


async def _relay(request: web.Request, head: _Head, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> web.StreamResponse:
    client_reader = asyncio.StreamReader()
    if request.protocol is None:
        raise ConnectionError("the client went away before the upgrade")
    request.protocol.set_parser(_Feed(client_reader))  # type: ignore[arg-type]
    response = web.StreamResponse(status=101, reason=head.reason or "Switching Protocols")
    for name in _RETURNED:
        for value in head.headers.getall(name, []):
            response.headers.add(name, value)
    response.force_close()
    await response.prepare(request)
    await _copy_both_ways(client_reader, response, reader, writer)
    return response


async def _copy_both_ways(client_reader: asyncio.StreamReader, response: web.StreamResponse,
                          upstream_reader: asyncio.StreamReader,
                          upstream_writer: asyncio.StreamWriter) -> None:
    async def up() -> None:
        while chunk := await client_reader.read(_CHUNK):
            upstream_writer.write(chunk)
            await upstream_writer.drain()

    async def down() -> None:
        while chunk := await upstream_reader.read(_CHUNK):
            await response.write(chunk)

    tasks = [asyncio.create_task(up()), asyncio.create_task(down())]
    with contextlib.suppress(ConnectionError):
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
