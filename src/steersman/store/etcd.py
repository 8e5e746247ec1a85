"""etcd store: the store contract over etcd v3's JSON gateway (``/v3/kv/…``, ``/v3/watch``).

etcd already has the contract's semantics; this module only translates. Keys and values
travel base64-encoded, int64 fields as JSON strings, and the gateway leaves out zero-valued
fields (``succeeded``, ``more``, ``kvs``, ``value``). Create is a txn comparing
``create_revision == 0``; update and delete compare ``mod_revision`` and read the key on
failure to tell :class:`Conflict` from :class:`NotFound`. A watch starts at
``after_revision + 1`` with ``prev_kv`` so a DELETE event carries the deleted value.

Errors are translated here, once: etcd's "required revision has been compacted" becomes
:class:`Compacted`, "future revision" :class:`FutureRevision`, and a refused connection,
a timeout or an unavailable cluster :class:`Unavailable`. Requests rotate across the
endpoints; a write is only re-sent elsewhere when it provably never left (connect failed).
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiohttp
import orjson

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
    StoreError,
    Unavailable,
)

Json = dict[str, Any]
_COMPACTED = "required revision has been compacted"
_FUTURE = "required revision is a future revision"
_UNAVAILABLE_CODES = {4, 14}  # gRPC DeadlineExceeded, Unavailable
_HEADERS = {"Content-Type": "application/json"}


class _RevisionCompacted(StoreError):
    """etcd refused a revision as compacted; the caller knows which revision it asked for."""


class _RevisionInFuture(StoreError):
    """etcd refused a revision as newer than its own."""


class EtcdStore:
    """A store on an etcd cluster; ``endpoints`` are ``host:port`` or ``http://host:port``."""

    def __init__(self, endpoints: list[str], *, timeout: float = 10.0) -> None:
        if not endpoints:
            raise ValueError("EtcdStore needs at least one endpoint")
        self.endpoints = [e if "://" in e else f"http://{e}" for e in endpoints]
        self._current = 0
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._watch_timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(headers=_HEADERS)

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def current_revision(self) -> int:
        payload = await self._post("kv/range", {"key": _b64(b"\x00"), "count_only": True})
        return _revision(payload)

    async def compact_revision(self) -> int:
        """Found by bisection: a read at revision R fails exactly when R < compact revision."""
        readable, unreadable = await self.current_revision(), 0
        while readable - unreadable > 1:
            middle = (readable + unreadable) // 2
            if await self._readable_at(middle):
                readable = middle
            else:
                unreadable = middle
        return readable if unreadable else 0

    async def get(self, key: str) -> KeyValue | None:
        payload = await self._post("kv/range", {"key": _b64(key.encode())})
        kvs = payload.get("kvs", [])
        return _kv(kvs[0]) if kvs else None

    async def list(
        self, prefix: str, *, revision: int = 0, limit: int = 0, start_after: str = ""
    ) -> ListResult:
        low, end = _range(prefix)
        if start_after:
            low = max(low, start_after.encode() + b"\x00")
        body: Json = {"key": _b64(low), "range_end": _b64(end), "limit": limit}
        if revision:
            body["revision"] = revision
        payload = await self._post_at_revision("kv/range", body, revision)
        items = [_kv(raw) for raw in payload.get("kvs", [])]
        return ListResult(revision or _revision(payload), items, bool(payload.get("more")))

    async def count(self, prefix: str) -> int:
        low, end = _range(prefix)
        body = {"key": _b64(low), "range_end": _b64(end), "count_only": True}
        return int((await self._post("kv/range", body)).get("count", 0))

    async def create(self, key: str, value: bytes) -> KeyValue:
        compare = {"target": "CREATE", "result": "EQUAL", "create_revision": 0}
        put = {"request_put": {"key": _b64(key.encode()), "value": _b64(value)}}
        payload = await self._txn(key, compare, put)
        if not payload.get("succeeded"):
            raise KeyExists(key)
        revision = _revision(payload)
        return KeyValue(key, value, revision, revision)

    async def update(self, key: str, value: bytes, *, expected_revision: int) -> KeyValue:
        put = {"request_put": {"key": _b64(key.encode()), "value": _b64(value), "prev_kv": True}}
        payload = await self._txn(key, _expect(expected_revision), put)
        previous = _changed(key, payload, "response_put", "prev_kv")
        return KeyValue(key, value, previous.create_revision, _revision(payload))

    async def delete(self, key: str, *, expected_revision: int = 0) -> KeyValue:
        delete = {"request_delete_range": {"key": _b64(key.encode()), "prev_kv": True}}
        payload = await self._txn(key, _expect(expected_revision), delete)
        previous = _changed(key, payload, "response_delete_range", "prev_kvs")
        return KeyValue(key, previous.value, previous.create_revision, _revision(payload))

    def watch(self, prefix: str, *, after_revision: int) -> AsyncIterator[Sequence[Event]]:
        return self._watch(prefix, after_revision)

    async def compact(self, revision: int) -> None:
        try:
            await self._post("kv/compaction", {"revision": revision, "physical": True})
        except _RevisionCompacted:
            return  # already compacted at or past it
        except _RevisionInFuture:
            raise FutureRevision(revision, await self.current_revision()) from None

    async def _watch(self, prefix: str, after_revision: int) -> AsyncIterator[Sequence[Event]]:
        """Follow one watch stream; on a broken stream resume after the last delivered revision
        on the next endpoint, and give up with Unavailable after a full round of failures."""
        last, failures = after_revision, 0
        while True:
            try:
                async for events in self._watch_stream(prefix, last):
                    failures = 0
                    if events:
                        yield events
                        last = events[-1].kv.mod_revision
            except (aiohttp.ClientError, TimeoutError) as error:
                failures += 1
                self._rotate()
                if failures >= len(self.endpoints):
                    raise Unavailable(f"etcd watch failed: {error!r}") from error

    async def _watch_stream(self, prefix: str, last: int) -> AsyncIterator[Sequence[Event]]:
        """One gateway stream; yields [] when it is established, then event batches.

        It starts *at* ``last`` rather than after it, so that etcd itself refuses a compacted
        ``last`` (the contract's rule), and drops the events at ``last`` (0 means "now" to
        etcd, hence at least 1)."""
        low, end = _range(prefix)
        request = {"key": _b64(low), "range_end": _b64(end), "start_revision": max(last, 1)}
        body = orjson.dumps({"create_request": {**request, "prev_kv": True}})
        url = f"{self.endpoints[self._current]}/v3/watch"
        async with self._open_session().post(url, data=body, timeout=self._watch_timeout) as resp:
            if resp.status != 200:
                raise _gateway_error(orjson.loads(await resp.read()))
            async for message in _json_lines(resp.content):
                yield _watch_events(message, last)
        raise aiohttp.ServerDisconnectedError("etcd closed the watch stream")

    async def _txn(self, key: str, compare: Json, success: Json) -> Json:
        encoded = _b64(key.encode())
        body = {
            "compare": [{"key": encoded, **compare}],
            "success": [success],
            "failure": [{"request_range": {"key": encoded}}],
        }
        return await self._post("kv/txn", body, idempotent=False)

    async def _post_at_revision(self, path: str, body: Json, revision: int) -> Json:
        try:
            return await self._post(path, body)
        except _RevisionCompacted:
            raise Compacted(revision, await self.compact_revision()) from None
        except _RevisionInFuture:
            raise FutureRevision(revision, await self.current_revision()) from None

    async def _readable_at(self, revision: int) -> bool:
        body = {"key": _b64(b"\x00"), "count_only": True, "revision": revision}
        try:
            await self._post("kv/range", body)
        except _RevisionCompacted:
            return False
        return True

    async def _post(self, path: str, body: Json, *, idempotent: bool = True) -> Json:
        data, session = orjson.dumps(body), self._open_session()
        failure: Exception | None = None
        for _ in self.endpoints:
            url = f"{self.endpoints[self._current]}/v3/{path}"
            try:
                async with session.post(url, data=data, timeout=self._timeout) as resp:
                    payload: Json = orjson.loads(await resp.read())
                    status = resp.status
            except aiohttp.ClientConnectorError as error:
                failure = error  # never sent: safe to try the next endpoint
            except (aiohttp.ClientError, TimeoutError, orjson.JSONDecodeError) as error:
                failure = error
                if not idempotent:
                    self._rotate()
                    raise Unavailable(f"etcd request {path} failed: {error!r}") from error
            else:
                if status != 200:
                    raise _gateway_error(payload)
                return payload
            self._rotate()
        raise Unavailable(f"no etcd endpoint answered {path}: {failure!r}")

    def _rotate(self) -> None:
        self._current = (self._current + 1) % len(self.endpoints)

    def _open_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise Unavailable("etcd store is not running")
        return self._session


def _watch_events(message: Json, last: int) -> list[Event]:
    if "error" in message:
        raise _gateway_error(message["error"])
    result: Json = message.get("result", {})
    compacted = int(result.get("compact_revision", 0))
    if compacted:
        raise Compacted(last, compacted)
    if result.get("canceled"):
        raise Unavailable(f"etcd cancelled the watch: {result.get('cancel_reason', '')}")
    events = (_event(raw) for raw in result.get("events", []))
    return [event for event in events if event.kv.mod_revision > last]


def _event(raw: Json) -> Event:
    kv = _kv(raw["kv"])
    prev = _kv(raw["prev_kv"]) if "prev_kv" in raw else None
    if raw.get("type") == "DELETE":
        # etcd's tombstone has no value; the deleted value is in prev_kv.
        value, created = (prev.value, prev.create_revision) if prev else (b"", 0)
        return Event(EventType.DELETE, KeyValue(kv.key, value, created, kv.mod_revision), prev)
    if kv.create_revision == kv.mod_revision:
        return Event(EventType.CREATE, kv)
    return Event(EventType.UPDATE, kv, prev)


def _changed(key: str, payload: Json, response: str, field: str) -> KeyValue:
    """The previous value from a successful CAS txn, or the reason the CAS failed."""
    first: Json = payload.get("responses", [{}])[0]
    if payload.get("succeeded"):
        previous = first.get(response, {}).get(field)
        return _kv(previous[0] if isinstance(previous, list) else previous)
    kvs = first.get("response_range", {}).get("kvs", [])
    if not kvs:
        raise NotFound(key)
    raise Conflict(key, _kv(kvs[0]))


def _expect(expected_revision: int) -> Json:
    """The txn compare for a CAS; revision 0 means "whatever it is, as long as it exists"."""
    if expected_revision:
        return {"target": "MOD", "result": "EQUAL", "mod_revision": expected_revision}
    return {"target": "CREATE", "result": "GREATER", "create_revision": 0}


def _gateway_error(error: Json) -> StoreError:
    message = str(error.get("message") or error.get("error") or error)
    code = int(error.get("code") or error.get("grpc_code") or 0)
    if _COMPACTED in message:
        return _RevisionCompacted(message)
    if _FUTURE in message:
        return _RevisionInFuture(message)
    if code in _UNAVAILABLE_CODES:
        return Unavailable(f"etcd: {message}")
    return StoreError(f"etcd: {message}")


async def _json_lines(content: aiohttp.StreamReader) -> AsyncIterator[Json]:
    """Newline-delimited JSON; split by hand because readline() caps a line's size."""
    buffer = bytearray()
    async for chunk in content.iter_any():
        buffer += chunk
        while (end := buffer.find(b"\n")) >= 0:
            line, buffer = bytes(buffer[:end]), buffer[end + 1 :]
            if line.strip():
                yield orjson.loads(line)


def _kv(raw: Json) -> KeyValue:
    return KeyValue(
        key=base64.b64decode(raw["key"]).decode(),
        value=base64.b64decode(raw.get("value", "")),
        create_revision=int(raw.get("create_revision", 0)),
        mod_revision=int(raw.get("mod_revision", 0)),
    )


def _revision(payload: Json) -> int:
    return int(payload["header"]["revision"])


def _range(prefix: str) -> tuple[bytes, bytes]:
    """etcd's [key, range_end) for a prefix; the empty prefix is every key."""
    low = prefix.encode()
    stripped = low.rstrip(b"\xff")
    if not stripped:
        return b"\x00", b"\x00"
    return low, stripped[:-1] + bytes([stripped[-1] + 1])


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
