"""Fixtures for end-to-end tests: one real server per module, a clean namespace per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import ServerProcess, start_server


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_server(tmp_path_factory.mktemp("server"))
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
