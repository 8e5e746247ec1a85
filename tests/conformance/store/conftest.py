"""Fixtures for the store conformance suite: one ``store`` per backend, and a real etcd.

``store`` is parametrised over memory, sqlite (in ``tmp_path``) and etcd. The etcd backend
gets its own ``etcd`` process per test — ephemeral client and peer ports on 127.0.0.1, a
data dir in ``tmp_path`` — killed by PID at teardown; without an ``etcd`` binary those
cases skip (or fail under ``STEERSMAN_REQUIRE=all``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from steersman.store.etcd import EtcdStore
from steersman.store.interface import Store
from steersman.store.memory import MemoryStore
from steersman.store.sqlite import SqliteStore
from tests.etcd import running_etcd


@pytest.fixture
def etcd_endpoint(tmp_path: Path) -> Iterator[str]:
    """``127.0.0.1:PORT`` of a fresh single-member etcd; retried if a probed port was taken."""
    with running_etcd(tmp_path) as endpoint:
        yield endpoint


@pytest.fixture(params=["memory", "sqlite", pytest.param("etcd", marks=pytest.mark.etcd)])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Store]:
    """A factory for the backend under test; every call opens the same underlying data."""
    if request.param == "memory":
        return MemoryStore
    if request.param == "sqlite":
        return lambda: SqliteStore(str(tmp_path / "store.db"))
    endpoint = request.getfixturevalue("etcd_endpoint")
    return lambda: EtcdStore([endpoint])


@pytest.fixture
async def store(make_store: Callable[[], Store]) -> AsyncIterator[Store]:
    opened = make_store()
    await opened.start()
    yield opened
    await opened.close()
