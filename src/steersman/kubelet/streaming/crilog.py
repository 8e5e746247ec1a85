"""Reading container log files in the CRI format: records, and a log's rotated files.

One record per line: ``<RFC3339Nano time> <stdout|stderr> <F|P> <content>\\n``; ``F`` ends a
log line, ``P`` is a piece of a longer one (kubernetes ``pkg/kubelet/kuberuntime/logs``).

The writer is the runtime's (``steersman.kubelet.runtime.crilog.CriLogWriter``): ``<name>.log``
is the live file, ``<name>.log.1`` the newest rotated one, ``.2`` the one before, and so on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from steersman.api.podlogs import format_rfc3339_ns, parse_rfc3339_ns

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
