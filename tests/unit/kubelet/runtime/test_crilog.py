"""CRI log lines: timestamps, full and partial lines, conmon's offset timestamps."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from steersman.kubelet.runtime.crilog import MAX_LINE, CriLogWriter, parse_line, timestamp


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
