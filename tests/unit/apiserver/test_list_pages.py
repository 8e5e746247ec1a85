"""Continued lists: served from the watch cache while it still shows the list's revision."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from steersman.api.builtin import builtin_registry
from steersman.api.resources import ResourceInfo
from steersman.apiserver.generic import (
    GenericRegistry,
    ListOptions,
    decode_continue,
    unchanged_since,
)
from steersman.apiserver.watchcache import CachedEvent, WatchCache
from steersman.store.memory import MemoryStore


@pytest.fixture
async def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
async def registry(store: MemoryStore) -> AsyncIterator[GenericRegistry]:
    cache = WatchCache(store)
    await cache.start()
    yield GenericRegistry(store=store, cache=cache, resources=builtin_registry())
    await cache.close()


def _configmaps(registry: GenericRegistry) -> ResourceInfo:
    info = registry.resources.get("", "v1", "configmaps")
    assert info is not None
    return info


async def _create(registry: GenericRegistry, namespace: str, name: str) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}
    await registry.create(_configmaps(registry), namespace, body)


async def _names(registry: GenericRegistry, namespace: str, limit: int,
                 *, between_pages: str = "") -> list[list[str]]:
    info, token, pages = _configmaps(registry), "", []
    while True:
        page = await registry.list_page(info, namespace,
                                        ListOptions(limit=limit, continue_token=token))
        pages.append([item["metadata"]["name"] for item in page.items])
        token = page.continue_token
        if not token:
            return pages
        if between_pages:
            await _create(registry, between_pages, f"late-{len(pages)}")
            await registry.get(info, between_pages, f"late-{len(pages)}")


async def test_pages_cover_the_namespace_in_key_order(registry: GenericRegistry) -> None:
    for index in range(7):
        await _create(registry, "a", f"cm-{index}")
    await _create(registry, "b", "other")
    assert await _names(registry, "a", 3) == [
        ["cm-0", "cm-1", "cm-2"], ["cm-3", "cm-4", "cm-5"], ["cm-6"]]


async def test_an_unchanged_namespace_is_continued_without_the_store(
        registry: GenericRegistry, store: MemoryStore, monkeypatch: pytest.MonkeyPatch) -> None:
    for index in range(4):
        await _create(registry, "a", f"cm-{index}")

    async def no_store_list(*args: object, **kwargs: object) -> None:
        raise AssertionError("the store was listed")

    monkeypatch.setattr(store, "list", no_store_list)
    assert await _names(registry, "a", 3) == [["cm-0", "cm-1", "cm-2"], ["cm-3"]]


async def test_a_change_elsewhere_keeps_the_snapshot(registry: GenericRegistry) -> None:
    for index in range(5):
        await _create(registry, "a", f"cm-{index}")
    await _create(registry, "b", "seed")
    pages = await _names(registry, "a", 2, between_pages="b")
    assert pages == [["cm-0", "cm-1"], ["cm-2", "cm-3"], ["cm-4"]]


async def test_a_change_in_the_namespace_reads_the_snapshot_from_the_store(
        registry: GenericRegistry) -> None:
    for index in range(5):
        await _create(registry, "a", f"cm-{index}")
    pages = await _names(registry, "a", 2, between_pages="a")
    # The "late-*" maps sort after "cm-*": the live cache would show them, the snapshot not.
    assert pages == [["cm-0", "cm-1"], ["cm-2", "cm-3"], ["cm-4"]]


async def test_the_continue_token_keeps_the_first_page_revision(
        registry: GenericRegistry) -> None:
    for index in range(3):
        await _create(registry, "a", f"cm-{index}")
    info = _configmaps(registry)
    first = await registry.list_page(info, "a", ListOptions(limit=1))
    second = await registry.list_page(info, "a", ListOptions(
        limit=1, continue_token=first.continue_token))
    assert second.revision == first.revision
    assert decode_continue(second.continue_token) == (first.revision, info.key("a", "cm-1"))


def _event(namespace: str, revision: int) -> CachedEvent:
    obj = {"metadata": {"name": "x", "namespace": namespace}}
    return CachedEvent("ADDED", obj, None, revision)


@pytest.mark.parametrize(("namespace", "revision", "oldest", "expected"), [
    ("a", 12, 10, True),    # nothing after 12
    ("a", 11, 10, False),   # an "a" event at 12
    ("b", 11, 10, True),    # only an "a" event after 11
    ("b", 10, 10, False),   # a "b" event at 11
    ("b", 9, 10, False),    # events up to the oldest retained revision are unknown
    ("", 11, 10, False),    # every namespace: the event at 12 counts
])
def test_unchanged_since(namespace: str, revision: int, oldest: int, expected: bool) -> None:
    history = [_event("b", 11), _event("a", 12)]
    assert unchanged_since(history, oldest, namespace, revision) is expected
