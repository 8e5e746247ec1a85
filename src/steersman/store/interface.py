"""The store protocol: a revisioned key-value log with etcd's semantics (kine's model).

Contract, enforced by ``tests/conformance/store`` against every backend:

* One global revision counter. Every successful create, update or delete gets the next
  revision; revisions strictly increase and survive restarts of durable backends.
* ``create`` fails with :class:`KeyExists` when the key is live; ``update`` and ``delete``
  are compare-and-swap on ``mod_revision`` (``expected_revision=0`` on delete means
  unconditional) and fail with :class:`Conflict` carrying the current value, or
  :class:`NotFound` when the key is absent.
* ``list(prefix, revision=R)`` returns the live keys under ``prefix`` as of revision R
  (0 = now), sorted by key, at most ``limit`` of them (0 = all), starting strictly after
  ``start_after``; ``ListResult.revision`` is the revision the snapshot was read at, so a
  continued list passes it back to stay consistent.
* ``watch(prefix, after_revision=R)`` yields batches of events with ``mod_revision > R`` in
  revision order, with no gaps and no duplicates, then follows live changes forever.
  Implementations subscribe before replaying. A DELETE event's ``kv`` carries the deleted
  value with ``mod_revision`` set to the revision of the delete; ``delete`` returns that
  same value. ``create`` and ``update`` return the stored value with its new revision.
* ``compact(C)`` keeps the state at revision C and every change after it: afterwards a list
  at a revision below C or a watch with ``after_revision`` below C raises :class:`Compacted`
  (the event at C itself may be gone: etcd drops a tombstone at C).

Keys are ``str`` (``/registry/<group>/<resource>/<namespace>/<name>``); values are bytes
(JSON documents). The store knows nothing of Kubernetes objects.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class KeyValue:
    key: str
    value: bytes
    create_revision: int
    mod_revision: int


class EventType(enum.Enum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Event:
    type: EventType
    kv: KeyValue
    prev_kv: KeyValue | None = None


@dataclass(frozen=True, slots=True)
class ListResult:
    revision: int
    items: Sequence[KeyValue]
    more: bool


class StoreError(Exception):
    """Base of every error a store raises on purpose."""


class KeyExists(StoreError):
    def __init__(self, key: str) -> None:
        super().__init__(f"key {key!r} already exists")
        self.key = key


class NotFound(StoreError):
    def __init__(self, key: str) -> None:
        super().__init__(f"key {key!r} not found")
        self.key = key


class Conflict(StoreError):
    """The expected revision did not match; ``current`` is what is stored now."""

    def __init__(self, key: str, current: KeyValue | None) -> None:
        super().__init__(f"key {key!r} was modified")
        self.key = key
        self.current = current


class Compacted(StoreError):
    """The requested revision is older than what the store keeps: re-list."""

    def __init__(self, requested: int, compact_revision: int) -> None:
        super().__init__(
            f"required revision {requested} has been compacted (oldest kept {compact_revision})"
        )
        self.requested = requested
        self.compact_revision = compact_revision


class FutureRevision(StoreError):
    """The requested revision is newer than the store's current revision."""

    def __init__(self, requested: int, current: int) -> None:
        super().__init__(f"revision {requested} is newer than the current revision {current}")
        self.requested = requested
        self.current = current


class Unavailable(StoreError):
    """The backend cannot be reached right now (etcd down, database closed)."""


class Store(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def current_revision(self) -> int: ...

    async def compact_revision(self) -> int: ...

    async def get(self, key: str) -> KeyValue | None: ...

    async def list(
        self, prefix: str, *, revision: int = 0, limit: int = 0, start_after: str = ""
    ) -> ListResult: ...

    async def count(self, prefix: str) -> int: ...

    async def create(self, key: str, value: bytes) -> KeyValue: ...

    async def update(self, key: str, value: bytes, *, expected_revision: int) -> KeyValue: ...

    async def delete(self, key: str, *, expected_revision: int = 0) -> KeyValue: ...

    def watch(self, prefix: str, *, after_revision: int) -> AsyncIterator[Sequence[Event]]: ...

    async def compact(self, revision: int) -> None: ...
