"""The informer's local cache: objects by key, plus named secondary indexes.

Keys are ``"<namespace>/<name>"`` for namespaced objects and ``"<name>"`` otherwise
(client-go ``MetaNamespaceKeyFunc``). An index function maps an object to the values it is
filed under (``[]`` for none); :meth:`Indexer.by_index` returns the objects filed under one
value. The built-in index functions cover what controllers ask for most: namespace,
``spec.nodeName`` and owner UIDs.

Not thread-safe and not locked: it lives on one event loop, and only the informer writes to
it. Objects are stored as the server sent them and shared with readers — treat them as
read-only and copy before changing one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

Object = dict[str, Any]
IndexFunc = Callable[[Object], list[str]]
Keys = list[str]
Objects = list[Object]

NAMESPACE_INDEX = "namespace"
NODE_NAME_INDEX = "spec.nodeName"
OWNER_UID_INDEX = "ownerUID"


def key_of(obj: Object) -> str:
    """``namespace/name``, or ``name`` for cluster-scoped objects."""
    metadata = obj.get("metadata") or {}
    namespace, name = metadata.get("namespace") or "", metadata.get("name") or ""
    return f"{namespace}/{name}" if namespace else str(name)


def by_namespace(obj: Object) -> list[str]:
    namespace = (obj.get("metadata") or {}).get("namespace")
    return [str(namespace)] if namespace else []


def by_node_name(obj: Object) -> list[str]:
    node = (obj.get("spec") or {}).get("nodeName")
    return [str(node)] if node else []


def by_owner_uid(obj: Object) -> list[str]:
    owners = (obj.get("metadata") or {}).get("ownerReferences") or []
    return [str(ref["uid"]) for ref in owners if ref.get("uid")]


class Indexer:
    """A dict of objects by key, with secondary indexes kept in step on every write."""

    def __init__(self, indexers: Mapping[str, IndexFunc] | None = None) -> None:
        self._items: dict[str, Object] = {}
        self._index_funcs: dict[str, IndexFunc] = dict(indexers or {})
        self._indices: dict[str, dict[str, set[str]]] = {name: {} for name in self._index_funcs}

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def get(self, key: str) -> Object | None:
        return self._items.get(key)

    def list(self) -> Objects:
        return list(self._items.values())

    def keys(self) -> Keys:
        return list(self._items)

    def by_index(self, index: str, value: str) -> Objects:
        """The objects filed under ``value`` in the index ``index``."""
        if index not in self._indices:
            raise KeyError(f"no index named {index!r}")
        return [self._items[key] for key in sorted(self._indices[index].get(value, ()))]

    def index_values(self, index: str) -> Keys:
        """Every value that currently has objects in ``index``."""
        return list(self._indices[index])

    def add_index(self, name: str, func: IndexFunc) -> None:
        """Add an index (filled from the objects already cached)."""
        self._index_funcs[name] = func
        self._indices[name] = {}
        for key, obj in self._items.items():
            self._file(name, key, obj)

    def upsert(self, obj: Object) -> Object | None:
        """Store ``obj`` under its key; return the object it replaced."""
        key = key_of(obj)
        old = self._items.get(key)
        if old is not None:
            self._unfile_all(key, old)
        self._items[key] = obj
        for name in self._index_funcs:
            self._file(name, key, obj)
        return old

    def delete(self, key: str) -> Object | None:
        """Remove the object under ``key``; return it (``None`` if there was none)."""
        old = self._items.pop(key, None)
        if old is not None:
            self._unfile_all(key, old)
        return old

    def replace(self, objects: Iterable[Object]) -> None:
        """Make the cache hold exactly ``objects``."""
        self._items = {}
        self._indices = {name: {} for name in self._index_funcs}
        for obj in objects:
            self.upsert(obj)

    def _file(self, name: str, key: str, obj: Object) -> None:
        index = self._indices[name]
        for value in self._index_funcs[name](obj):
            index.setdefault(value, set()).add(key)

    def _unfile_all(self, key: str, obj: Object) -> None:
        for name, func in self._index_funcs.items():
            index = self._indices[name]
            for value in func(obj):
                keys = index.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[value]
