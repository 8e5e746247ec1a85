"""The store contract (``steersman.store.interface``), run against every backend.

Each test gets a fresh store through the ``store`` fixture (memory, sqlite, etcd). Tests
only rely on revisions they observe themselves, never on absolute numbers: etcd starts at
revision 1, the others at 0.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest

from steersman.store.etcd import EtcdStore
from steersman.store.interface import (
    Compacted,
    Conflict,
    Event,
    EventType,
    FutureRevision,
    KeyExists,
    KeyValue,
    NotFound,
    Store,
    Unavailable,
)
from tests.etcd import free_port

P = "/registry/things/default/"
RACERS = 20


async def collect(watch: AsyncIterator[Sequence[Event]], count: int) -> list[Event]:
    """The first ``count`` events of a watch, within a deadline."""
    events: list[Event] = []
    async with asyncio.timeout(10):
        async for batch in watch:
            events.extend(batch)
            if len(events) >= count:
                return events
    raise AssertionError(f"watch ended after {len(events)} of {count} events")


async def history(store: Store) -> tuple[int, list[Event]]:
    """Writes creates, updates and deletes under P; returns the revision before, and the
    events a watch must report for them."""
    base = await store.current_revision()
    a = await store.create(P + "a", b"a1")
    b = await store.create(P + "b", b"b1")
    a2 = await store.update(P + "a", b"a2", expected_revision=a.mod_revision)
    gone = await store.delete(P + "b", expected_revision=b.mod_revision)
    c = await store.create(P + "c", b"c1")
    return base, [
        Event(EventType.CREATE, a),
        Event(EventType.CREATE, b),
        Event(EventType.UPDATE, a2, prev_kv=a),
        Event(EventType.DELETE, gone, prev_kv=b),
        Event(EventType.CREATE, c),
    ]


# --- revisions, create, get, update, delete ---------------------------------------------


async def test_revisions_strictly_increase(store: Store) -> None:
    seen = [await store.current_revision()]
    kv = await store.create(P + "x", b"1")
    seen.append(kv.mod_revision)
    for value in (b"2", b"3"):
        kv = await store.update(P + "x", value, expected_revision=kv.mod_revision)
        seen.append(kv.mod_revision)
    seen.append((await store.delete(P + "x")).mod_revision)
    seen.append((await store.create(P + "x", b"again")).mod_revision)
    assert seen == sorted(set(seen))
    assert await store.current_revision() == seen[-1]


async def test_create_then_get(store: Store) -> None:
    kv = await store.create(P + "x", b'{"a": 1}')
    assert kv == KeyValue(P + "x", b'{"a": 1}', kv.mod_revision, kv.mod_revision)
    assert await store.get(P + "x") == kv
    assert await store.get(P + "missing") is None
    with pytest.raises(KeyExists) as caught:
        await store.create(P + "x", b"other")
    assert caught.value.key == P + "x"
    assert await store.get(P + "x") == kv


async def test_create_accepts_empty_value(store: Store) -> None:
    kv = await store.create(P + "empty", b"")
    assert await store.get(P + "empty") == kv


async def test_update_is_compare_and_swap(store: Store) -> None:
    old = await store.create(P + "x", b"1")
    new = await store.update(P + "x", b"2", expected_revision=old.mod_revision)
    assert new.create_revision == old.create_revision
    assert new.mod_revision > old.mod_revision
    assert new.value == b"2"
    with pytest.raises(Conflict) as caught:
        await store.update(P + "x", b"3", expected_revision=old.mod_revision)
    assert caught.value.current == new
    with pytest.raises(NotFound):
        await store.update(P + "missing", b"1", expected_revision=new.mod_revision)


async def test_delete_is_compare_and_swap(store: Store) -> None:
    kv = await store.create(P + "x", b"1")
    with pytest.raises(Conflict) as caught:
        await store.delete(P + "x", expected_revision=kv.mod_revision + 1)
    assert caught.value.current == kv
    gone = await store.delete(P + "x", expected_revision=kv.mod_revision)
    assert gone.value == b"1"
    assert gone.create_revision == kv.create_revision
    assert gone.mod_revision > kv.mod_revision
    assert await store.current_revision() == gone.mod_revision
    assert await store.get(P + "x") is None
    with pytest.raises(NotFound):
        await store.delete(P + "x")


async def test_unconditional_delete_and_recreate(store: Store) -> None:
    first = await store.create(P + "x", b"1")
    await store.delete(P + "x")
    again = await store.create(P + "x", b"2")
    assert again.create_revision > first.create_revision
    assert await store.get(P + "x") == again


# --- concurrency ------------------------------------------------------------------------


async def test_racing_updates_exactly_one_wins(store: Store) -> None:
    base = await store.create(P + "x", b"0")
    outcomes = await asyncio.gather(
        *(
            store.update(P + "x", str(n).encode(), expected_revision=base.mod_revision)
            for n in range(RACERS)
        ),
        return_exceptions=True,
    )
    winners = [o for o in outcomes if isinstance(o, KeyValue)]
    losers = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(winners) == 1
    assert len(losers) == RACERS - 1
    assert all(loser.current == winners[0] for loser in losers)
    assert await store.get(P + "x") == winners[0]


async def test_racing_creates_exactly_one_wins(store: Store) -> None:
    outcomes = await asyncio.gather(
        *(store.create(P + "x", str(n).encode()) for n in range(RACERS)), return_exceptions=True
    )
    assert sum(isinstance(o, KeyValue) for o in outcomes) == 1
    assert sum(isinstance(o, KeyExists) for o in outcomes) == RACERS - 1


async def test_failed_cas_does_not_fail_concurrent_writes(store: Store) -> None:
    kvs = [await store.create(f"{P}k{n:02}", b"0") for n in range(10)]
    good = [store.update(kv.key, b"1", expected_revision=kv.mod_revision) for kv in kvs[:5]]
    stale = [store.update(kv.key, b"1", expected_revision=kv.mod_revision - 1) for kv in kvs[5:]]
    outcomes = await asyncio.gather(*good, *stale, return_exceptions=True)
    assert all(isinstance(o, KeyValue) for o in outcomes[:5])
    assert all(isinstance(o, Conflict) for o in outcomes[5:])


# --- list and count ---------------------------------------------------------------------


async def test_list_is_sorted_and_scoped_to_the_prefix(store: Store) -> None:
    for key in ("b", "a", "c"):
        await store.create(P + key, key.encode())
    await store.create("/registry/things/defaultx/z", b"other prefix")
    await store.create("/registry/others/default/a", b"other resource")
    listed = await store.list(P)
    assert [kv.key for kv in listed.items] == [P + "a", P + "b", P + "c"]
    assert listed.revision == await store.current_revision()
    assert not listed.more
    assert len((await store.list("")).items) == 5


async def test_paginated_list_at_a_fixed_revision_ignores_later_writes(store: Store) -> None:
    keys = [f"{P}k{n:02}" for n in range(25)]
    for key in keys:
        await store.create(key, b"original")
    page = await store.list(P, limit=10)
    seen, snapshot = [kv.key for kv in page.items], page.revision
    churn = 0
    while page.more:
        churn += 1
        await store.create(f"{P}k{churn * 10 + 5:02}x", b"inserted later")
        await store.delete(keys[-churn])
        page = await store.list(P, revision=snapshot, limit=10, start_after=seen[-1])
        assert page.revision == snapshot
        assert all(kv.value == b"original" for kv in page.items)
        seen.extend(kv.key for kv in page.items)
    assert seen == keys


async def test_list_at_an_older_revision_sees_the_old_state(store: Store) -> None:
    a = await store.create(P + "a", b"a1")
    b = await store.create(P + "b", b"b1")
    before = await store.current_revision()
    await store.update(P + "a", b"a2", expected_revision=a.mod_revision)
    await store.delete(P + "b")
    await store.create(P + "c", b"c1")
    old = await store.list(P, revision=before)
    assert old.items == [a, b]
    assert old.revision == before
    assert [kv.value for kv in (await store.list(P)).items] == [b"a2", b"c1"]


async def test_list_in_the_future_fails(store: Store) -> None:
    current = await store.current_revision()
    with pytest.raises(FutureRevision):
        await store.list(P, revision=current + 10)


async def test_count(store: Store) -> None:
    assert await store.count(P) == 0
    for n in range(7):
        await store.create(f"{P}k{n}", b"v")
    await store.create("/registry/others/x", b"v")
    await store.delete(f"{P}k3")
    assert await store.count(P) == 6
    assert await store.count("/registry/") == 7


# --- watch ------------------------------------------------------------------------------


async def test_watch_replays_history_from_every_revision(store: Store) -> None:
    base, expected = await history(store)
    for after in range(base, expected[-1].kv.mod_revision):
        wanted = [e for e in expected if e.kv.mod_revision > after]
        watch = store.watch(P, after_revision=after)
        assert await collect(watch, len(wanted)) == wanted
        await watch.aclose()  # type: ignore[attr-defined]


async def test_watch_follows_live_changes_after_replay(store: Store) -> None:
    base, expected = await history(store)
    watch = store.watch(P, after_revision=base)
    assert await collect(watch, len(expected)) == expected
    live = await store.update(P + "c", b"c2", expected_revision=expected[-1].kv.mod_revision)
    gone = await store.delete(P + "a")
    assert await collect(watch, 2) == [
        Event(EventType.UPDATE, live, prev_kv=expected[-1].kv),
        Event(EventType.DELETE, gone, prev_kv=expected[2].kv),
    ]
    await watch.aclose()  # type: ignore[attr-defined]


async def test_watch_during_concurrent_writes_has_no_gap_or_duplicate(store: Store) -> None:
    base = await store.current_revision()
    writes = 150

    async def write() -> int:
        last = 0
        for n in range(writes):
            last = (await store.create(f"{P}w{n:03}", b"v")).mod_revision
            if n % 10 == 0:
                await asyncio.sleep(0)
        return last

    writer = asyncio.create_task(write())
    await asyncio.sleep(0.01)
    watch = store.watch(P, after_revision=base)
    events = await collect(watch, writes)
    await writer
    await watch.aclose()  # type: ignore[attr-defined]
    assert [e.kv.key for e in events] == [f"{P}w{n:03}" for n in range(writes)]
    revisions = [e.kv.mod_revision for e in events]
    assert revisions == list(range(base + 1, base + writes + 1))


async def test_watch_only_reports_the_prefix(store: Store) -> None:
    base = await store.current_revision()
    await store.create("/registry/others/default/a", b"elsewhere")
    mine = await store.create(P + "a", b"mine")
    watch = store.watch(P, after_revision=base)
    assert await collect(watch, 1) == [Event(EventType.CREATE, mine)]
    await watch.aclose()  # type: ignore[attr-defined]


# --- compaction -------------------------------------------------------------------------


async def test_compaction_expires_old_revisions(store: Store) -> None:
    _, expected = await history(store)
    target = expected[3].kv.mod_revision  # the delete of b
    await store.compact(target)
    assert await store.compact_revision() == target
    with pytest.raises(Compacted):
        await store.list(P, revision=target - 1)
    with pytest.raises(Compacted):
        await anext(aiter(store.watch(P, after_revision=target - 1)))
    at_target = await store.list(P, revision=target)
    assert [kv.value for kv in at_target.items] == [b"a2"]
    watch = store.watch(P, after_revision=target)
    assert await collect(watch, 1) == expected[4:]
    await watch.aclose()  # type: ignore[attr-defined]


async def test_compaction_keeps_current_state_and_counter(store: Store) -> None:
    await history(store)
    current = await store.current_revision()
    await store.compact(current)
    assert [kv.value for kv in (await store.list(P)).items] == [b"a2", b"c1"]
    assert (await store.create(P + "d", b"d1")).mod_revision == current + 1
    await store.compact(current - 1)  # older than the compact revision: nothing to do
    assert await store.compact_revision() == current
    with pytest.raises(FutureRevision):
        await store.compact(current + 10)


# --- backend-specific: etcd endpoints ---------------------------------------------------


@pytest.mark.etcd
async def test_etcd_rotates_past_a_dead_endpoint(etcd_endpoint: str) -> None:
    store = EtcdStore([f"127.0.0.1:{free_port()}", etcd_endpoint])
    await store.start()
    try:
        kv = await store.create(P + "x", b"1")
        assert await store.get(P + "x") == kv
    finally:
        await store.close()


async def test_etcd_without_any_endpoint_is_unavailable() -> None:
    store = EtcdStore([f"127.0.0.1:{free_port()}"], timeout=2)
    await store.start()
    try:
        with pytest.raises(Unavailable):
            await store.get(P + "x")
        with pytest.raises(Unavailable):
            await anext(aiter(store.watch(P, after_revision=0)))
    finally:
        await store.close()
