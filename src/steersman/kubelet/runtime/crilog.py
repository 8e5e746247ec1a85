"""The CRI container log format: one line per record, ``TIMESTAMP STREAM TAG CONTENT``.

``2026-11-29T05:30:28.123456789Z stdout F hello`` — the timestamp is RFC 3339 with
nanoseconds, the stream ``stdout`` or ``stderr``, the tag ``F`` for a full line and ``P``
for a fragment of a longer one (lines over :data:`MAX_LINE` bytes are split, and output
that ends without a newline is flushed as ``F`` when the stream closes).

:class:`CriLogWriter` is used by the detached supervisor (stdlib only: it runs outside
the agent); :func:`parse_line` reads lines back, including conmon's, whose timestamps
carry a ``+00:00`` offset instead of ``Z``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

MAX_LINE = 16 * 1024


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


class CriLogWriter:
    """Appends stream output to a CRI log file, line by line, from several threads."""

    def __init__(self, path: str) -> None:
        self._file = open(path, "ab", buffering=0)  # noqa: SIM115 - closed by close()
        self._lock = threading.Lock()
        self._pending: dict[str, bytes] = {"stdout": b"", "stderr": b""}

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
        self._file.close()

    def _emit(self, stream: str, content: bytes, *, partial: bool) -> None:
        tag = "P" if partial else "F"
        record = f"{timestamp()} {stream} {tag} ".encode() + content + b"\n"
        with self._lock:
            self._file.write(record)
