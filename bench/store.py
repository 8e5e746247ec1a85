"""Store write benchmark: raw SQLite inserts vs SqliteStore creates with concurrent writers.

Usage: ``.venv/bin/python bench/store.py [--writes N] [--writers W] [--value-bytes B]``.
Prints one JSON line:

* ``raw_commit_per_insert_per_s``: one INSERT per transaction into a plain table, WAL and
  ``synchronous=FULL`` — the fsync-bound ceiling without batching;
* ``raw_one_transaction_per_s``: all INSERTs in one transaction — the CPU-bound ceiling;
* ``store_creates_per_s``, ``store_p50_ms``, ``store_p99_ms``, ``store_transactions``:
  SqliteStore creates from ``W`` concurrent asyncio writers (group commit).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from steersman.store.sqlite import SqliteStore


def raw_inserts(path: Path, writes: int, value: bytes, *, batched: bool) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, value BLOB)")
    started = time.perf_counter()
    if batched:
        conn.execute("BEGIN")
    for n in range(writes):
        conn.execute("INSERT INTO t (name, value) VALUES (?, ?)", (f"/k/{n}", value))
    if batched:
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return writes / elapsed


async def store_creates(path: Path, writes: int, writers: int, value: bytes) -> dict[str, float]:
    store = SqliteStore(str(path))
    await store.start()
    latencies: list[float] = []

    async def writer(offset: int) -> None:
        for n in range(offset, writes, writers):
            started = time.perf_counter()
            await store.create(f"/registry/pods/default/p{n}", value)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(writers)))
    elapsed = time.perf_counter() - started
    transactions = store.transactions_committed
    await store.close()
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "store_creates_per_s": round(writes / elapsed),
        "store_p50_ms": round(cuts[49] * 1000, 2),
        "store_p99_ms": round(cuts[98] * 1000, 2),
        "store_transactions": transactions,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=5000)
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--value-bytes", type=int, default=1024)
    args = parser.parse_args()
    value = b"x" * args.value_bytes
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        result: dict[str, float] = {
            "writes": args.writes,
            "writers": args.writers,
            "value_bytes": args.value_bytes,
            "raw_commit_per_insert_per_s": round(
                raw_inserts(root / "raw1.db", min(args.writes, 1000), value, batched=False)
            ),
            "raw_one_transaction_per_s": round(
                raw_inserts(root / "raw2.db", args.writes, value, batched=True)
            ),
        }
        result |= asyncio.run(store_creates(root / "store.db", args.writes, args.writers, value))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
