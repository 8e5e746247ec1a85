"""Fixtures for the store conformance suite: one ``store`` per backend, and a real etcd.

``store`` is parametrised over memory, sqlite (in ``tmp_path``) and etcd. The etcd backend
gets its own ``etcd`` process per test — ephemeral client and peer ports on 127.0.0.1, a
data dir in ``tmp_path`` — killed by PID at teardown; without an ``etcd`` binary those
cases skip (or fail under ``STEERSMAN_REQUIRE=all``).
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from steersman.store.etcd import EtcdStore
from steersman.store.interface import Store
from steersman.store.memory import MemoryStore
from steersman.store.sqlite import SqliteStore
from tests.tools import need_tool

HEALTH_DEADLINE_S = 15.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def etcd_command(binary: str, data_dir: Path, client: int, peer: int) -> list[str]:
    client_url, peer_url = f"http://127.0.0.1:{client}", f"http://127.0.0.1:{peer}"
    return [
        binary,
        "--name=s1",
        f"--data-dir={data_dir}",
        f"--listen-client-urls={client_url}",
        f"--advertise-client-urls={client_url}",
        f"--listen-peer-urls={peer_url}",
        f"--initial-advertise-peer-urls={peer_url}",
        f"--initial-cluster=s1={peer_url}",
    ]


def wait_healthy(process: subprocess.Popen[bytes], client: int) -> bool:
    deadline = time.monotonic() + HEALTH_DEADLINE_S
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{client}/health", timeout=1) as reply:
                if b'"true"' in reply.read():
                    return True
        except OSError:
            time.sleep(0.05)
    return False


@pytest.fixture
def etcd_endpoint(tmp_path: Path) -> Iterator[str]:
    """``127.0.0.1:PORT`` of a fresh single-member etcd; retried if a probed port was taken."""
    binary = need_tool("etcd", "the etcd store backend")
    for attempt in range(3):
        client, peer = free_port(), free_port()
        data_dir = tmp_path / f"etcd-{attempt}"
        with (tmp_path / f"etcd-{attempt}.log").open("wb") as log:
            process = subprocess.Popen(
                etcd_command(binary, data_dir, client, peer), stdout=log, stderr=log
            )
        try:
            if wait_healthy(process, client):
                yield f"127.0.0.1:{client}"
                return
        finally:
            process.kill()
            process.wait()
    pytest.fail(f"etcd did not become healthy; see {tmp_path}/etcd-*.log")


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
