"""The CRI container log format, and the writer that keeps a container's log files bounded.

``2026-11-29T05:30:28.123456789Z stdout F hello`` — one record per line: the timestamp is
RFC 3339 with nanoseconds, the stream ``stdout`` or ``stderr``, the tag ``F`` for a full
line and ``P`` for a fragment of a longer one (lines over :data:`MAX_LINE` bytes are split,
and output that ends without a newline is flushed as ``F`` when the stream closes).

:class:`CriLogWriter` is what the detached supervisor feeds a container's output to
(stdlib only: it runs outside the agent). It rotates by size as the kubelet's
``containerLogMaxSize`` (10Mi) and ``containerLogMaxFiles`` (5) do: when a record would take
``<name>.log`` past ``max_bytes`` it becomes ``<name>.log.1``, older ones shift up
(``.1`` → ``.2`` …) and the oldest beyond ``max_files`` is removed, so a container keeps at
most ``max_files`` files (:func:`shift_rotated`, which the conmon shim uses too). A reader
that follows the live file notices the new inode and moves on
(``steersman.kubelet.streaming.logs``). A path that is not a regular file (``/dev/null``) is
never rotated; :func:`remove_log` removes a log with its rotated files.
:func:`parse_line` reads lines back, including conmon's, whose timestamps carry a
``+00:00`` offset instead of ``Z``.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

MAX_LINE = 16 * 1024
MAX_BYTES = 10 * 1024 * 1024  # the kubelet's containerLogMaxSize
MAX_FILES = 5  # the kubelet's containerLogMaxFiles
STREAMS = ("stdout", "stderr")


def timestamp(ns: int | None = None) -> str:
    """RFC 3339 UTC with nanoseconds, e.g. ``2026-11-29T05:30:28.123456789Z``."""
    ns = time.time_ns() if ns is None else ns
    seconds, fraction = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{fraction:09d}Z"


@dataclass(frozen=True)
class LogLine:
    time: datetime
    stream: str
    partial: bool
    content: bytes


def parse_line(line: bytes) -> LogLine:
    """Parse one CRI log line (without or with its trailing newline)."""
    stamp, stream, tag, content = line.rstrip(b"\n").split(b" ", 3)
    return LogLine(_parse_time(stamp.decode()), stream.decode(), tag == b"P", content)


def _parse_time(text: str) -> datetime:
    text = text.replace("Z", "+00:00")
    main, _, rest = text.partition(".")
    digits = "".join(ch for ch in rest if ch.isdigit())
    zone = rest[len(digits) :]
    return datetime.fromisoformat(f"{main}.{digits[:6]:0<6}{zone}").astimezone(UTC)


def rotated_path(path: str, index: int) -> str:
    """``path`` itself for 0, else its ``index``-th rotated file (``ctr.log.2``)."""
    return path if index == 0 else f"{path}.{index}"


def shift_rotated(path: str, max_files: int) -> None:
    """Make room for a new live file: ``path`` → ``path.1`` → ``path.2`` …, dropping what
    would fall past ``max_files`` files in all (the live one included)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(rotated_path(path, max_files - 1))
    for index in range(max_files - 2, -1, -1):
        source = rotated_path(path, index)
        if os.path.exists(source):
            os.replace(source, rotated_path(path, index + 1))


def remove_log(path: str | os.PathLike[str]) -> None:
    """Remove a container's log: the live file and its rotated ones (``.1``, ``.2`` …)."""
    live = os.fspath(path)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(live)
    index = 1
    while os.path.exists(rotated_path(live, index)):
        os.unlink(rotated_path(live, index))
        index += 1


class CriLogWriter:
    """Appends stream output to a CRI log file, line by line, from several threads."""

    def __init__(self, path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES,
                 max_files: int = MAX_FILES, clock: Callable[[], int] = time.time_ns) -> None:
        if max_bytes < 1 or max_files < 1:
            raise ValueError("max_bytes and max_files must be at least 1")
        self.path = os.fspath(path)
        self._max_bytes, self._max_files = max_bytes, max_files
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: dict[str, bytes] = dict.fromkeys(STREAMS, b"")
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        self._file: BinaryIO = open(self.path, "ab", buffering=0)  # noqa: SIM115 - see close()
        info = os.fstat(self._file.fileno())
        self._rotates = stat.S_ISREG(info.st_mode)
        self._size = info.st_size if self._rotates else 0

    def write(self, stream: str, data: bytes) -> None:
        buffered = self._pending[stream] + data
        *lines, rest = buffered.split(b"\n")
        for line in lines:
            self._emit(stream, self._split_long(stream, line), partial=False)
        self._pending[stream] = self._split_long(stream, rest)

    def close_stream(self, stream: str) -> None:
        """The stream ended: whatever is left is a final, full line."""
        rest, self._pending[stream] = self._pending[stream], b""
        if rest:
            self._emit(stream, rest, partial=False)

    def _split_long(self, stream: str, line: bytes) -> bytes:
        """Emit MAX_LINE-sized fragments as partial lines; return the remainder."""
        while len(line) > MAX_LINE:
            self._emit(stream, line[:MAX_LINE], partial=True)
            line = line[MAX_LINE:]
        return line

    def close(self) -> None:
        """Write what is left of unfinished lines as full ones, and close the file."""
        for stream in STREAMS:
            self.close_stream(stream)
        self._file.close()

    def _emit(self, stream: str, content: bytes, *, partial: bool) -> None:
        tag = "P" if partial else "F"
        record = f"{timestamp(self._clock())} {stream} {tag} ".encode() + content + b"\n"
        with self._lock:
            if self._rotates and self._size and self._size + len(record) > self._max_bytes:
                self._rotate()
            self._file.write(record)
            self._size += len(record)

    def _rotate(self) -> None:
        """Shift ``.log`` → ``.log.1`` → … and drop what falls past ``max_files``."""
        self._file.close()
        shift_rotated(self.path, self._max_files)
        self._file = open(self.path, "ab", buffering=0)  # noqa: SIM115 - see close()
        self._size = 0
