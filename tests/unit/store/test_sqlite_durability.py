"""SqliteStore: acknowledged writes survive ``kill -9``; concurrent writes share commits."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from steersman.store.interface import Conflict, KeyValue
from steersman.store.sqlite import SqliteStore

WRITER = """
import asyncio, sys
from steersman.store.sqlite import SqliteStore

async def writer(store, n):
    i = 0
    while True:
        kv = await store.create(f"/registry/k/{n}-{i}", b"v" * 200)
        print(kv.key, kv.mod_revision, flush=True)
        i += 1

async def main(path):
    store = SqliteStore(path)
    await store.start()
    await asyncio.gather(*(writer(store, n) for n in range(8)))

asyncio.run(main(sys.argv[1]))
"""
ACKNOWLEDGED_BEFORE_KILL = 500


def acknowledged_then_killed(path: Path) -> dict[str, int]:
    """Runs WRITER, kills it with SIGKILL mid-stream; every line it printed was acknowledged."""
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    acknowledged: dict[str, int] = {}
    try:
        for line in process.stdout:
            key, revision = line.split()
            acknowledged[key] = int(revision)
            if len(acknowledged) >= ACKNOWLEDGED_BEFORE_KILL:
                break
    finally:
        process.kill()
        process.wait()
    for line in process.stdout:  # printed before the kill: acknowledged too
        fields = line.split()
        if not line.endswith("\n") or len(fields) != 2:
            break  # the kill cut this line short: its key cannot be read, so it is not checked
        acknowledged[fields[0]] = int(fields[1])
    return acknowledged


async def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    acknowledged = await asyncio.to_thread(acknowledged_then_killed, path)
    store = SqliteStore(str(path))
    await store.start()
    try:
        for key, revision in acknowledged.items():
            kv = await store.get(key)
            assert kv is not None and kv.mod_revision == revision, key
        newest = max(acknowledged.values())
        assert await store.current_revision() >= newest
        assert (await store.create("/registry/k/after", b"v")).mod_revision > newest
    finally:
        await store.close()


async def test_revision_counter_survives_delete_compact_and_restart(tmp_path: Path) -> None:
    path = str(tmp_path / "store.db")
    store = SqliteStore(path)
    await store.start()
    kv = await store.create("/registry/k/a", b"v")
    gone = await store.delete("/registry/k/a", expected_revision=kv.mod_revision)
    await store.compact(gone.mod_revision)
    await store.close()
    reopened = SqliteStore(path)
    await reopened.start()
    try:
        assert await reopened.current_revision() == gone.mod_revision
        assert await reopened.compact_revision() == gone.mod_revision
        assert (await reopened.create("/registry/k/a", b"v")).mod_revision == gone.mod_revision + 1
    finally:
        await reopened.close()


async def test_concurrent_writes_are_group_committed(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "store.db"))
    await store.start()
    try:
        before = store.transactions_committed
        kvs = await asyncio.gather(*(store.create(f"/registry/k/{n}", b"v") for n in range(200)))
        transactions = store.transactions_committed - before
        assert sorted(kv.mod_revision for kv in kvs) == list(range(1, 201))
        assert transactions <= 20, transactions
    finally:
        await store.close()


async def test_a_failed_cas_in_a_batch_fails_only_its_caller(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "store.db"))
    await store.start()
    try:
        kvs = [await store.create(f"/registry/k/{n}", b"0") for n in range(20)]
        before = store.transactions_committed
        outcomes = await asyncio.gather(
            *(
                store.update(kv.key, b"1", expected_revision=kv.mod_revision - n % 2)
                for n, kv in enumerate(kvs)
            ),
            return_exceptions=True,
        )
        assert store.transactions_committed - before < 20
        assert all(isinstance(o, KeyValue) for o in outcomes[0::2])
        assert all(isinstance(o, Conflict) for o in outcomes[1::2])
    finally:
        await store.close()
