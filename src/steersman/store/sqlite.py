"""SQLite store, the default durable backend: kine's model of etcd over one SQL table.

Layout: ``log`` is append-only; a row is one revision (``id`` = revision) of one key
(``name``): ``created``/``deleted`` flag creates and tombstones, ``prev_revision`` points to
the row it supersedes, and ``old_value`` keeps the value an update replaced, so a row alone
rebuilds its watch event. The index on ``(name, id)`` finds the latest row of a key. ``meta``
holds the compact revision. The current revision is ``MAX(id)``: compaction deletes only
rows below the compact revision, so the newest row (and with it the counter) survives.

Writes (group commit): every create, update, delete and compact goes to one writer thread
that owns the write connection. It takes everything queued while the previous transaction
was committing, checks each operation on its own inside one transaction (a failed CAS fails
only its caller), commits once — WAL with ``synchronous=FULL``, so one fsync per batch and
an acknowledged write survives ``kill -9`` — and hands the outcomes back to the event loop in
one callback, which resolves the callers and publishes the events to watchers.

Reads: a small thread pool with one connection per thread. Every read filters on
``id <= revision``, so it is a consistent snapshot at that revision however many commits
land meanwhile; the event loop never blocks on SQLite.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import queue
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

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
from steersman.store.memory import WatchHub, follow

T = TypeVar("T")

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS log (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        created INTEGER NOT NULL,
        deleted INTEGER NOT NULL,
        create_revision INTEGER NOT NULL,
        prev_revision INTEGER NOT NULL,
        value BLOB NOT NULL,
        old_value BLOB
    )""",
    "CREATE INDEX IF NOT EXISTS log_name_id ON log (name, id)",
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
)
_LATEST = (
    "SELECT id, create_revision, deleted, value FROM log WHERE name = ? ORDER BY id DESC LIMIT 1"
)
_INSERT = "INSERT INTO log VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
_COMPACT_REVISION = "SELECT COALESCE(MAX(value), 0) FROM meta WHERE name = 'compact_revision'"
_SET_COMPACT_REVISION = (
    "INSERT INTO meta VALUES ('compact_revision', ?) "
    "ON CONFLICT (name) DO UPDATE SET value = excluded.value"
)
# Rows below the compact revision that no read at or after it needs: tombstones, and rows
# superseded by a row at or below it.
_COMPACT = (
    "DELETE FROM log WHERE id < ?1 AND (deleted = 1 OR id IN "
    "(SELECT prev_revision FROM log WHERE id <= ?1))"
)
# SQLite's bare-column rule: with one MAX() aggregate, the other columns come from the row
# holding the maximum, i.e. each key's latest row at or below the revision. The groups come
# out of the (name, id) index in key order, so LIMIT stops the scan early.
_LATEST_ROWS = (
    "SELECT name, value, create_revision, MAX(id), deleted FROM log "
    "WHERE {range} AND id <= ? GROUP BY name HAVING deleted = 0"
)
_LIST = f"{_LATEST_ROWS} ORDER BY name LIMIT ?"
_COUNT = f"SELECT COUNT(*) FROM ({_LATEST_ROWS})"
# "+name" keeps the planner on the rowid range: replays usually start near the head.
_EVENTS = (
    "SELECT id, name, created, deleted, create_revision, prev_revision, value, old_value "
    "FROM log WHERE id > ? AND {range} ORDER BY id LIMIT ?"
)
_REPLAY_PAGE = 1000
_MAX_BATCH = 1000
_READERS = 4


@dataclass(slots=True)
class _Op:
    verb: str  # create | update | delete | compact
    key: str
    value: bytes
    expected: int  # the CAS revision; the target revision for compact
    done: asyncio.Future[Event | None]


_Outcome = Event | StoreError | None


class SqliteStore:
    """A durable store in one SQLite file; ``path`` is a filesystem path."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._writer: _Writer | None = None
        self._readers: _Readers | None = None
        self._hub = WatchHub()

    @property
    def transactions_committed(self) -> int:
        """Write transactions committed since start; with group commit, far below writes."""
        return self._writer.transactions_committed if self._writer else 0

    async def start(self) -> None:
        writer = _Writer(self.path, asyncio.get_running_loop(), self._finish)
        await asyncio.to_thread(writer.start)
        self._writer, self._readers = writer, _Readers(self.path)

    async def close(self) -> None:
        writer, readers, self._writer, self._readers = self._writer, self._readers, None, None
        if writer is not None:
            await asyncio.to_thread(writer.stop)
        if readers is not None:
            await asyncio.to_thread(readers.close)
        self._hub.close()

    async def current_revision(self) -> int:
        return self._running_writer().revision

    async def compact_revision(self) -> int:
        return self._running_writer().compacted

    async def get(self, key: str) -> KeyValue | None:
        return await self._read(lambda conn: _live(key, conn.execute(_LATEST, (key,)).fetchone()))

    async def list(
        self, prefix: str, *, revision: int = 0, limit: int = 0, start_after: str = ""
    ) -> ListResult:
        at = self._read_revision(revision)
        where, params = _key_range(prefix, start_after)
        sql = _LIST.format(range=where)

        def read(conn: sqlite3.Connection) -> ListResult:
            with _snapshot(conn):
                if revision:
                    _check_compacted(conn, at)
                rows = conn.execute(sql, (*params, at, limit + 1 if limit else -1)).fetchall()
            items = [KeyValue(name, value, created, mod) for name, value, created, mod, _ in rows]
            more = bool(limit) and len(items) > limit
            return ListResult(revision=at, items=items[:limit] if more else items, more=more)

        return await self._read(read)

    async def count(self, prefix: str) -> int:
        at = self._read_revision(0)
        where, params = _key_range(prefix, "")
        sql = _COUNT.format(range=where)
        return await self._read(lambda conn: int(conn.execute(sql, (*params, at)).fetchone()[0]))

    async def create(self, key: str, value: bytes) -> KeyValue:
        return await self._write_kv("create", key, value, 0)

    async def update(self, key: str, value: bytes, *, expected_revision: int) -> KeyValue:
        return await self._write_kv("update", key, value, expected_revision)

    async def delete(self, key: str, *, expected_revision: int = 0) -> KeyValue:
        return await self._write_kv("delete", key, b"", expected_revision)

    def watch(self, prefix: str, *, after_revision: int) -> AsyncIterator[Sequence[Event]]:
        self._running_writer()
        where, params = _key_range(prefix, "")
        sql = _EVENTS.format(range=where.replace("name", "+name"))

        async def replay(last: int) -> Sequence[Event]:
            def read(conn: sqlite3.Connection) -> list[Event]:
                with _snapshot(conn):
                    _check_compacted(conn, last)
                    rows = conn.execute(sql, (last, *params, _REPLAY_PAGE)).fetchall()
                return [_event(row) for row in rows]

            return await self._read(read)

        return follow(self._hub, prefix, after_revision, replay)

    async def compact(self, revision: int) -> None:
        await self._submit("compact", "", b"", revision)

    async def _write_kv(self, verb: str, key: str, value: bytes, expected: int) -> KeyValue:
        event = await self._submit(verb, key, value, expected)
        assert event is not None
        return event.kv

    async def _submit(self, verb: str, key: str, value: bytes, expected: int) -> Event | None:
        done: asyncio.Future[Event | None] = asyncio.get_running_loop().create_future()
        self._running_writer().submit(_Op(verb, key, value, expected, done))
        return await done

    def _finish(self, results: Sequence[tuple[_Op, _Outcome]]) -> None:
        """On the loop, once per committed batch: answer the callers, then tell watchers."""
        for op, outcome in results:
            if op.done.done():
                continue
            if isinstance(outcome, StoreError):
                op.done.set_exception(outcome)
            else:
                op.done.set_result(outcome)
        self._hub.publish([outcome for _, outcome in results if isinstance(outcome, Event)])

    async def _read(self, read: Callable[[sqlite3.Connection], T]) -> T:
        if self._readers is None:
            raise Unavailable("sqlite store is not running")
        return await self._readers.run(read)

    def _read_revision(self, revision: int) -> int:
        current = self._running_writer().revision
        if revision > current:
            raise FutureRevision(revision, current)
        return revision or current

    def _running_writer(self) -> _Writer:
        if self._writer is None:
            raise Unavailable("sqlite store is not running")
        return self._writer


class _Writer:
    """The one thread that writes: drains the queue into batches, one transaction each."""

    def __init__(
        self,
        path: str,
        loop: asyncio.AbstractEventLoop,
        finish: Callable[[Sequence[tuple[_Op, _Outcome]]], None],
    ) -> None:
        self.revision = 0
        self.compacted = 0
        self.transactions_committed = 0
        self._path, self._loop, self._finish = path, loop, finish
        self._queue: queue.SimpleQueue[_Op | None] = queue.SimpleQueue()
        self._ready: concurrent.futures.Future[sqlite3.Connection] = concurrent.futures.Future()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="sqlite-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.result()

    def stop(self) -> None:
        self._stopping = True
        self._queue.put(None)
        self._thread.join()

    def submit(self, op: _Op) -> None:
        if self._stopping:
            raise Unavailable("sqlite store is closing")
        self._queue.put(op)

    def _run(self) -> None:
        try:
            conn = _open(self._path)
            self.revision = conn.execute("SELECT COALESCE(MAX(id), 0) FROM log").fetchone()[0]
            self.compacted = conn.execute(_COMPACT_REVISION).fetchone()[0]
        except BaseException as error:
            self._ready.set_exception(error)
            return
        self._ready.set_result(conn)
        with contextlib.closing(conn):
            while batch := self._take():
                self._deliver(self._commit(conn, batch))

    def _take(self) -> list[_Op]:
        """Block for one operation, then add whatever queued up meanwhile; [] = stop."""
        first = self._queue.get()
        batch = [] if first is None else [first]
        while batch and len(batch) < _MAX_BATCH:
            try:
                op = self._queue.get_nowait()
            except queue.Empty:
                break
            if op is None:
                self._queue.put(None)  # stop after this batch
                break
            batch.append(op)
        return batch

    def _commit(self, conn: sqlite3.Connection, batch: list[_Op]) -> list[tuple[_Op, _Outcome]]:
        revision, compacted = self.revision, self.compacted
        outcomes: list[tuple[_Op, _Outcome]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for op in batch:
                outcome = _apply(conn, op, revision, compacted)
                if isinstance(outcome, Event):
                    revision = outcome.kv.mod_revision
                elif op.verb == "compact" and outcome is None:
                    compacted = max(compacted, op.expected)
                outcomes.append((op, outcome))
            conn.execute("COMMIT")
        except Exception as error:  # sqlite3.Error, or a bug: fail the batch, keep the writer
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            return [(op, Unavailable(f"sqlite write failed: {error}")) for op in batch]
        self.revision, self.compacted = revision, compacted
        self.transactions_committed += 1
        return outcomes

    def _deliver(self, outcomes: list[tuple[_Op, _Outcome]]) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting
            self._loop.call_soon_threadsafe(self._finish, outcomes)


def _apply(conn: sqlite3.Connection, op: _Op, revision: int, compacted: int) -> _Outcome:
    """One operation inside the batch's transaction; a StoreError fails only this one."""
    try:
        if op.verb == "compact":
            _compact(conn, op.expected, revision, compacted)
            return None
        row = conn.execute(_LATEST, (op.key,)).fetchone()
        event = _decide(op, _live(op.key, row), revision + 1)
    except StoreError as error:
        return error
    conn.execute(_INSERT, _row(event, row[0] if row else 0))
    return event


def _decide(op: _Op, current: KeyValue | None, revision: int) -> Event:
    if op.verb == "create":
        if current is not None:
            raise KeyExists(op.key)
        return Event(EventType.CREATE, KeyValue(op.key, op.value, revision, revision))
    if current is None:
        raise NotFound(op.key)
    if op.expected and current.mod_revision != op.expected:
        raise Conflict(op.key, current)
    if op.verb == "update":
        kv = KeyValue(op.key, op.value, current.create_revision, revision)
        return Event(EventType.UPDATE, kv, current)
    kv = KeyValue(op.key, current.value, current.create_revision, revision)
    return Event(EventType.DELETE, kv, current)


def _row(event: Event, latest_id: int) -> tuple[Any, ...]:
    kv, prev = event.kv, event.prev_kv
    old_value = prev.value if event.type is EventType.UPDATE and prev else None
    return (
        kv.mod_revision,
        kv.key,
        int(event.type is EventType.CREATE),
        int(event.type is EventType.DELETE),
        kv.create_revision,
        prev.mod_revision if prev else latest_id,
        kv.value,
        old_value,
    )


def _compact(conn: sqlite3.Connection, target: int, revision: int, compacted: int) -> None:
    if target > revision:
        raise FutureRevision(target, revision)
    if target > compacted:
        conn.execute(_COMPACT, (target,))
        conn.execute(_SET_COMPACT_REVISION, (target,))


def _event(row: tuple[Any, ...]) -> Event:
    revision, name, created, deleted, create_revision, prev_revision, value, old_value = row
    kv = KeyValue(name, value, create_revision, revision)
    if created:
        return Event(EventType.CREATE, kv)
    if deleted:
        return Event(EventType.DELETE, kv, KeyValue(name, value, create_revision, prev_revision))
    prev = KeyValue(name, old_value or b"", create_revision, prev_revision)
    return Event(EventType.UPDATE, kv, prev)


def _live(key: str, row: tuple[Any, ...] | None) -> KeyValue | None:
    if row is None or row[2]:
        return None
    revision, create_revision, _, value = row
    return KeyValue(key, value, create_revision, revision)


def _check_compacted(conn: sqlite3.Connection, revision: int) -> None:
    compacted = conn.execute(_COMPACT_REVISION).fetchone()[0]
    if revision < compacted:
        raise Compacted(revision, compacted)


def _key_range(prefix: str, start_after: str) -> tuple[str, tuple[str, ...]]:
    """A ``WHERE`` fragment and its parameters for keys under ``prefix`` after ``start_after``."""
    low = max(prefix, start_after + "\x00") if start_after else prefix
    end = prefix_end(prefix)
    if end is None:
        return "name >= ?", (low,)
    return "name >= ? AND name < ?", (low, end)


def prefix_end(prefix: str) -> str | None:
    """The smallest string above every string that starts with ``prefix``; None = no bound."""
    stripped = prefix.rstrip("\U0010ffff")
    if not stripped:
        return None
    following = ord(stripped[-1]) + 1
    if 0xD800 <= following <= 0xDFFF:  # surrogates cannot be stored as UTF-8
        following = 0xE000
    return stripped[:-1] + chr(following)


@contextlib.contextmanager
def _snapshot(conn: sqlite3.Connection) -> Iterator[None]:
    """One read transaction, so several statements see the same committed state."""
    conn.execute("BEGIN")
    try:
        yield
    finally:
        if conn.in_transaction:
            conn.execute("COMMIT")


def _open(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=10000")
    for statement in _SCHEMA:
        conn.execute(statement)
    return conn


class _Readers:
    """A few threads, each with its own read connection to the same file."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._pool = concurrent.futures.ThreadPoolExecutor(_READERS, "sqlite-read")

    async def run(self, read: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._call, read)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        for conn in self._connections:
            conn.close()

    def _call(self, read: Callable[[sqlite3.Connection], T]) -> T:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return read(conn)
