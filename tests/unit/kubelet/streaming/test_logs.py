"""CRI log files: the rotating writer, and reading with tail, since, limit and follow."""

from __future__ import annotations

import asyncio
from pathlib import Path

from steersman.api.podlogs import PodLogOptions
from steersman.kubelet.runtime.crilog import MAX_LINE as MAX_RECORD_CONTENT
from steersman.kubelet.runtime.crilog import CriLogWriter
from steersman.kubelet.streaming.crilog import LogRecord, format_record, log_files, parse_record
from steersman.kubelet.streaming.logs import stream_logs

S = 1_000_000_000
T0 = 1_700_000_000 * S


def _clock(start: int = T0) -> object:
    ticks = iter(range(10_000))
    return lambda: start + next(ticks) * S


def _write(path: Path, lines: list[str], **kwargs: int) -> None:
    writer = CriLogWriter(path, clock=_clock(), **kwargs)  # type: ignore[arg-type]
    for line in lines:
        writer.write("stdout", line.encode() + b"\n")
    writer.close()


async def _read(path: Path, options: PodLogOptions, *, running: bool = False,
                now: int = T0 + 100 * S) -> bytes:
    out: list[bytes] = []

    async def write(data: bytes) -> None:
        out.append(data)

    async def is_running() -> bool:
        return running

    await stream_logs(path, options, write, running=is_running, clock=lambda: now)
    return b"".join(out)


def test_record_format_round_trips() -> None:
    record = LogRecord(T0 + 123, "stderr", True, b"a b c")
    line = format_record(record)
    assert line == b"2023-11-14T22:13:20.000000123Z stderr P a b c\n"
    assert parse_record(line) == record
    assert parse_record(b"garbage") is None
    assert parse_record(b"2023-11-14T22:13:20Z stdout F") == LogRecord(T0, "stdout", False, b"")


def test_writer_splits_lines_keeps_partial_ones_and_long_ones(tmp_path: Path) -> None:
    path = tmp_path / "c.log"
    writer = CriLogWriter(path, clock=_clock())  # type: ignore[arg-type]
    writer.write("stdout", b"one\ntw")
    writer.write("stderr", b"x" * (MAX_RECORD_CONTENT + 5) + b"\n")
    writer.write("stdout", b"o\nthree")
    writer.close()
    records = [parse_record(line) for line in path.read_bytes().splitlines()]
    assert [(r.stream, r.partial, len(r.content)) for r in records if r] == [
        ("stdout", False, 3), ("stderr", True, MAX_RECORD_CONTENT), ("stderr", False, 5),
        ("stdout", False, 3), ("stdout", False, 5)]


def test_rotation_keeps_max_files(tmp_path: Path) -> None:
    path = tmp_path / "c.log"
    _write(path, [f"line {i:03d}" for i in range(100)], max_bytes=200, max_files=3)
    assert [p.name for p in log_files(path)] == ["c.log.2", "c.log.1", "c.log"]
    assert all(p.stat().st_size <= 200 for p in log_files(path))


async def test_reading_across_rotated_files_with_tail_since_and_limit(tmp_path: Path) -> None:
    path = tmp_path / "c.log"
    _write(path, [f"l{i}" for i in range(20)], max_bytes=150, max_files=10)
    assert len(log_files(path)) > 2
    everything = await _read(path, PodLogOptions())
    assert everything == b"".join(f"l{i}\n".encode() for i in range(20))
    assert await _read(path, PodLogOptions(tail_lines=2)) == b"l18\nl19\n"
    assert await _read(path, PodLogOptions(tail_lines=0)) == b""
    assert await _read(path, PodLogOptions(since_time_ns=T0 + 17 * S)) == b"l17\nl18\nl19\n"
    assert await _read(path, PodLogOptions(since_seconds=2), now=T0 + 20 * S) == b"l18\nl19\n"
    assert await _read(path, PodLogOptions(limit_bytes=5)) == b"l0\nl1"
    stamped = await _read(path, PodLogOptions(tail_lines=1, timestamps=True))
    assert stamped == b"2023-11-14T22:13:39.000000000Z l19\n"


async def test_partial_records_join_into_one_line(tmp_path: Path) -> None:
    path = tmp_path / "c.log"
    path.write_bytes(b"2023-11-14T22:13:20Z stdout P abc\n2023-11-14T22:13:21Z stdout F def\n")
    assert await _read(path, PodLogOptions()) == b"abcdef\n"


async def test_follow_continues_across_rotation_until_the_container_stops(
        tmp_path: Path) -> None:
    path = tmp_path / "c.log"
    _write(path, ["first"])
    running = True
    out: list[bytes] = []

    async def write(data: bytes) -> None:
        out.append(data)

    async def is_running() -> bool:
        return running

    follower = asyncio.create_task(stream_logs(
        path, PodLogOptions(follow=True), write, running=is_running, poll_seconds=0.01))
    await asyncio.sleep(0.05)
    assert out == [b"first\n"]
    writer = CriLogWriter(path, max_bytes=120, max_files=5)
    for i in range(6):
        writer.write("stdout", f"more {i}\n".encode())
        await asyncio.sleep(0.02)
    writer.close()
    assert len(log_files(path)) > 1
    await asyncio.sleep(0.05)
    assert not follower.done()
    running = False
    await asyncio.wait_for(follower, 2)
    assert b"".join(out) == b"first\n" + b"".join(f"more {i}\n".encode() for i in range(6))
