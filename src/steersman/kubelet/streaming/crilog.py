"""Container log files in the CRI format, and the size-based rotation that keeps them bounded.

One record per line: ``<RFC3339Nano time> <stdout|stderr> <F|P> <content>\\n``; ``F`` ends a
log line, ``P`` is a piece of a longer one (kubernetes ``pkg/kubelet/kuberuntime/logs``).

Rotation: ``<name>.log`` is the live file; when a record would take it past ``max_bytes`` it
becomes ``<name>.log.1``, the older ones shift up (``.1`` → ``.2`` …) and the oldest beyond
``max_files`` is removed. A reader that follows the live file notices the new inode and moves
on (:mod:`.logs`). :class:`RotatingLogWriter` is what a runtime feeds a container's output to.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from steersman.api.podlogs import format_rfc3339_ns, parse_rfc3339_ns

# kubelet's cap on one log record; a longer line is split into P pieces.
MAX_RECORD_CONTENT = 16 * 1024
STREAMS = ("stdout", "stderr")


@dataclass(frozen=True, slots=True)
class LogRecord:
    time_ns: int
    stream: str
    partial: bool
    content: bytes


def parse_record(line: bytes) -> LogRecord | None:
    """A record from one file line (with or without its newline); None if malformed."""
    parts = line.rstrip(b"\n").split(b" ", 3)
    if len(parts) < 3 or parts[1].decode(errors="replace") not in STREAMS:
        return None
    try:
        time_ns = parse_rfc3339_ns(parts[0].decode())
    except (ValueError, UnicodeDecodeError):
        return None
    return LogRecord(time_ns=time_ns, stream=parts[1].decode(), partial=parts[2] == b"P",
                     content=parts[3] if len(parts) > 3 else b"")


def format_record(record: LogRecord) -> bytes:
    tag = b"P" if record.partial else b"F"
    return b"%s %s %s %s\n" % (format_rfc3339_ns(record.time_ns).encode(),
                               record.stream.encode(), tag, record.content)


def log_files(path: Path) -> list[Path]:
    """The rotated files of ``path`` and ``path`` itself, oldest first, those that exist."""
    rotated: list[tuple[int, Path]] = []
    for candidate in path.parent.glob(path.name + ".*"):
        suffix = candidate.name[len(path.name) + 1:]
        if suffix.isdigit():
            rotated.append((int(suffix), candidate))
    files = [p for _, p in sorted(rotated, reverse=True)]
    if path.exists():
        files.append(path)
    return files


class RotatingLogWriter:
    """Writes a container's output as CRI records to ``path``, rotating by size."""

    def __init__(self, path: Path, *, max_bytes: int = 10 * 1024 * 1024, max_files: int = 5,
                 clock: Callable[[], int] = time.time_ns) -> None:
        if max_bytes < 1 or max_files < 1:
            raise ValueError("max_bytes and max_files must be at least 1")
        self.path = path
        self._max_bytes = max_bytes
        self._max_files = max_files
        self._clock = clock
        self._pending = {stream: b"" for stream in STREAMS}
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: BinaryIO = open(path, "ab")  # noqa: SIM115 - kept open across writes
        self._size = self._file.tell()

    def write(self, stream: str, data: bytes) -> None:
        """Append ``data`` from ``stream``; a line without its newline waits for the rest."""
        buffered = self._pending[stream] + data
        *lines, rest = buffered.split(b"\n")
        for line in lines:
            self._emit(stream, line)
        while len(rest) > MAX_RECORD_CONTENT:
            self._append(LogRecord(self._clock(), stream, True, rest[:MAX_RECORD_CONTENT]))
            rest = rest[MAX_RECORD_CONTENT:]
        self._pending[stream] = rest
        self._file.flush()

    def close(self) -> None:
        """Write what is left of unfinished lines as complete ones, and close the file."""
        for stream, rest in self._pending.items():
            if rest:
                self._append(LogRecord(self._clock(), stream, False, rest))
        self._pending = {stream: b"" for stream in STREAMS}
        self._file.close()

    def _emit(self, stream: str, line: bytes) -> None:
        while len(line) > MAX_RECORD_CONTENT:
            self._append(LogRecord(self._clock(), stream, True, line[:MAX_RECORD_CONTENT]))
            line = line[MAX_RECORD_CONTENT:]
        self._append(LogRecord(self._clock(), stream, False, line))

    def _append(self, record: LogRecord) -> None:
        data = format_record(record)
        if self._size and self._size + len(data) > self._max_bytes:
            self._rotate()
        self._file.write(data)
        self._size += len(data)

    def _rotate(self) -> None:
        self._file.close()
        oldest = self.path.with_name(f"{self.path.name}.{self._max_files - 1}")
        if self._max_files == 1:
            self.path.unlink(missing_ok=True)
        else:
            oldest.unlink(missing_ok=True)
            for index in range(self._max_files - 2, 0, -1):
                source = self.path.with_name(f"{self.path.name}.{index}")
                if source.exists():
                    os.replace(source, self.path.with_name(f"{self.path.name}.{index + 1}"))
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        self._file = open(self.path, "ab")  # noqa: SIM115 - kept open across writes
        self._size = 0
