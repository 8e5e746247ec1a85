"""CRI log lines: timestamps, full and partial lines, conmon's offset timestamps."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from steersman.kubelet.runtime.crilog import (
    MAX_LINE,
    CriLogWriter,
    parse_line,
    remove_log,
    timestamp,
)


def test_timestamp_is_rfc3339_with_nanoseconds() -> None:
    assert timestamp(1_795_930_228_123_456_789) == "2026-11-29T05:30:28.123456789Z"


def test_parse_accepts_z_and_offsets() -> None:
    ours = parse_line(b"2026-11-29T05:30:28.123456789Z stdout F hello world\n")
    conmon = parse_line(b"2026-11-29T05:30:28.123456789+00:00 stderr P part")
    moment = datetime(2026, 11, 29, 5, 30, 28, 123456, tzinfo=UTC)
    assert (ours.time, ours.stream, ours.partial, ours.content) == (
        moment,
        "stdout",
        False,
        b"hello world",
    )
    assert (conmon.time, conmon.stream, conmon.partial) == (moment, "stderr", True)


def test_writer_splits_lines_and_flushes_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "ctr.log"
    writer = CriLogWriter(str(path))
    writer.write("stdout", b"one\ntw")
    writer.write("stderr", b"oops\n")
    writer.write("stdout", b"o\nthree")
    writer.close_stream("stdout")
    writer.write("stdout", b"x" * (MAX_LINE + 5) + b"\n")
    writer.close()
    lines = [parse_line(line) for line in path.read_bytes().splitlines()]
    assert [(x.stream, x.partial, x.content) for x in lines] == [
        ("stdout", False, b"one"),
        ("stderr", False, b"oops"),
        ("stdout", False, b"two"),
        ("stdout", False, b"three"),
        ("stdout", True, b"x" * MAX_LINE),
        ("stdout", False, b"xxxxx"),
    ]


def test_writer_rotates_by_size_and_keeps_max_files(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    ticks = iter(range(1000))
    writer = CriLogWriter(path, max_bytes=200, max_files=3,
                          clock=lambda: 1_795_930_228_000_000_000 + next(ticks))
    for index in range(20):
        writer.write("stdout", f"line {index:02d}\n".encode())
    writer.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["0.log", "0.log.1", "0.log.2"]
    assert all(p.stat().st_size <= 200 for p in tmp_path.iterdir())
    kept = [parse_line(line).content for name in ("0.log.2", "0.log.1", "0.log")
            for line in (tmp_path / name).read_bytes().splitlines()]
    assert kept == [f"line {i:02d}".encode() for i in range(20 - len(kept), 20)]
    assert kept[0] != b"line 00"  # the oldest file beyond max_files was dropped


def test_writer_never_rotates_a_device(tmp_path: Path) -> None:
    writer = CriLogWriter("/dev/null", max_bytes=10, max_files=2)
    for _ in range(10):
        writer.write("stderr", b"dropped\n")
    writer.close()
    assert Path("/dev/null").is_char_device() and not Path("/dev/null.1").exists()


def test_remove_log_takes_the_rotated_files_along(tmp_path: Path) -> None:
    path = tmp_path / "1.log"
    writer = CriLogWriter(path, max_bytes=60, max_files=4)
    for index in range(10):
        writer.write("stdout", f"{index}\n".encode())
    writer.close()
    (tmp_path / "10.log").write_text("another instance's log\n")
    assert len(list(tmp_path.iterdir())) == 5
    remove_log(path)
    remove_log(path)  # already gone: nothing to do
    assert [p.name for p in tmp_path.iterdir()] == ["10.log"]
