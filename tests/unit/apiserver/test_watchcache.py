"""The watch cache: consistent snapshot + follow, history replay, slow watchers cut off."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
import pytest

from steersman.apiserver.watchcache import CachedEvent, WatchCache, Watcher, resource_prefix
from steersman.store.interface import Compacted
from steersman.store.memory import MemoryStore

PODS = "/registry/core/pods/"


def _pod(name: str, phase: str = "Pending") -> bytes:
    return orjson.dumps({"kind": "Pod", "metadata": {"name": name, "namespace": "ns"},
                         "status": {"phase": phase}})


@pytest.fixture
async def store() -> AsyncIterator[MemoryStore]:
    memory = MemoryStore()
    await memory.start()
    yield memory
    await memory.close()


async def _cache(store: MemoryStore) -> WatchCache:
    cache = WatchCache(store)
    await cache.start()
    return cache


def test_resource_prefix() -> None:
    assert resource_prefix("/registry/apps/deployments/ns/web") == "/registry/apps/deployments/"
    assert resource_prefix("/registry/core/nodes/n1") == "/registry/core/nodes/"


async def test_snapshot_then_follow_sets_resource_versions(store: MemoryStore) -> None:
    first = await store.create(PODS + "ns/a", _pod("a"))
    cache = await _cache(store)
    try:
        assert cache.cache_for(PODS).objects[PODS + "ns/a"]["metadata"]["resourceVersion"] == (
            str(first.mod_revision))
        second = await store.create(PODS + "ns/b", _pod("b"))
        await cache.sync()
        assert cache.revision == second.mod_revision
        assert list(cache.cache_for(PODS).keys_from(PODS + "ns/", "")) == [
            PODS + "ns/a", PODS + "ns/b"]
        assert list(cache.cache_for(PODS).keys_from(PODS + "ns/", PODS + "ns/a")) == [
            PODS + "ns/b"]
    finally:
        await cache.close()


async def test_history_replay_and_expiry(store: MemoryStore) -> None:
    cache = await _cache(store)
    try:
        start = cache.revision
        created = await store.create(PODS + "ns/a", _pod("a"))
        await store.update(PODS + "ns/a", _pod("a", "Running"),
                           expected_revision=created.mod_revision)
        await store.delete(PODS + "ns/a")
        await cache.sync()
        events = cache.cache_for(PODS).events_after(start)
        assert [e.type for e in events] == ["ADDED", "MODIFIED", "DELETED"]
        assert events[2].obj["metadata"]["resourceVersion"] == str(cache.revision)
        assert cache.cache_for(PODS).events_after(cache.revision) == []
        with pytest.raises(Compacted):
            cache.cache_for(PODS).events_after(start - 1)
    finally:
        await cache.close()


async def test_filtered_watcher_sees_transitions() -> None:
    watcher = Watcher(lambda obj: obj["status"]["phase"] == "Running")
    pending = {"metadata": {"name": "a"}, "status": {"phase": "Pending"}}
    running = {"metadata": {"name": "a"}, "status": {"phase": "Running"}}
    watcher.offer(CachedEvent("ADDED", pending, None, 1))
    watcher.offer(CachedEvent("MODIFIED", running, pending, 2))
    watcher.offer(CachedEvent("MODIFIED", running, running, 3))
    watcher.offer(CachedEvent("MODIFIED", pending, running, 4))
    batch = await watcher.next_batch(0.1)
    assert batch is not None
    assert [kind for kind, _ in batch] == ["ADDED", "MODIFIED", "DELETED"]


async def test_slow_watcher_is_cut_off_without_blocking_writers(store: MemoryStore) -> None:
    cache = await _cache(store)
    try:
        slow = Watcher(lambda obj: True, limit=5)
        cache.cache_for(PODS).watchers.add(slow)
        for index in range(50):
            await store.create(PODS + f"ns/p{index}", _pod(f"p{index}"))
        await asyncio.wait_for(cache.sync(), 5)
        assert slow.overflowed and slow.closed
        batch = await slow.next_batch(0.1)
        assert batch is not None and len(batch) == 5
        assert await slow.next_batch(0.1) is None
        assert len(cache.cache_for(PODS).objects) == 50
    finally:
        await cache.close()


async def test_an_adopted_write_is_cached_without_decoding_and_deletes_share(
        store: MemoryStore) -> None:
    cache = await _cache(store)
    try:
        handed = {"kind": "Pod", "metadata": {"name": "a", "namespace": "ns"},
                  "status": {"phase": "Pending"}}
        value = orjson.dumps(handed)
        cache.adopt(value, handed)
        written = await store.create(PODS + "ns/a", value)
        # Equal bytes but another object: not the adopted write, decoded as usual.
        cache.adopt(_pod("b"), {"kind": "Pod", "metadata": {"name": "wrong"}})
        await store.create(PODS + "ns/b", _pod("b"))
        await cache.sync()
        objects = cache.cache_for(PODS).objects
        assert objects[PODS + "ns/a"] is handed
        assert handed["metadata"]["resourceVersion"] == str(written.mod_revision)
        assert objects[PODS + "ns/b"]["metadata"]["name"] == "b"
        deleted = await store.delete(PODS + "ns/a")
        await cache.sync()
        event = cache.cache_for(PODS).history[-1]
        assert event.type == "DELETED"
        assert event.obj == {**handed, "metadata": {
            **handed["metadata"], "resourceVersion": str(deleted.mod_revision)}}
        assert handed["metadata"]["resourceVersion"] == str(written.mod_revision)
        assert event.obj["status"] is handed["status"]  # shared, not decoded again
    finally:
        await cache.close()
