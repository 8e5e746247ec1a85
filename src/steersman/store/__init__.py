"""steersman.store: the revisioned key-value log under the API server, and its backends.

The protocol and its contract live in :mod:`steersman.store.interface`; the backends are
:mod:`~steersman.store.memory` (tests), :mod:`~steersman.store.sqlite` (default, embedded)
and :mod:`~steersman.store.etcd` (HA). :func:`open_store` picks one from a URL.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from steersman.store.interface import Store

SCHEMES = ("memory://", "sqlite:///abs/path.db (or a plain path)", "etcd://host:port[,host:port]")


def open_store(url: str) -> Store:
    """The store a URL names: ``memory://``, ``sqlite:///abs/path.db`` or a plain path,
    ``etcd://127.0.0.1:2379[,127.0.0.1:2380]`` (plain http). Call ``start()`` on it next."""
    if "://" not in url:
        return _sqlite(url)
    scheme, rest = url.split("://", 1)
    if scheme == "memory" and not rest:
        from steersman.store.memory import MemoryStore

        return MemoryStore()
    if scheme == "sqlite" and rest.startswith("/"):
        return _sqlite(urlsplit(url).path)
    if scheme == "etcd" and rest:
        from steersman.store.etcd import EtcdStore

        return EtcdStore([f"http://{host}" for host in rest.rstrip("/").split(",")])
    raise ValueError(f"unsupported store URL {url!r}; expected one of: {', '.join(SCHEMES)}")


def _sqlite(path: str) -> Store:
    if not path:
        raise ValueError("the sqlite store needs a file path")
    from steersman.store.sqlite import SqliteStore

    return SqliteStore(path)
