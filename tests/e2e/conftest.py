"""Fixtures for end-to-end tests: one real server per module, a clean namespace per test."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import ServerProcess, start_server
from tests.etcd import running_etcd


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("etcd", marks=pytest.mark.etcd)])
def server(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server per test module, once on the default SQLite store and once on a real etcd."""
    directory = tmp_path_factory.mktemp("server")
    with contextlib.ExitStack() as stack:
        extra: tuple[str, ...] = ()
        if request.param == "etcd":
            endpoint = stack.enter_context(running_etcd(directory))
            extra = ("--store", f"etcd://{endpoint}")
        process = start_server(directory, *extra)
        try:
            yield process
        finally:
            process.stop()


@pytest.fixture
def namespace(server: ServerProcess) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:8]}"
    server.kubectl("create", "namespace", name)
    yield name


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
