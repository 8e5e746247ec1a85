"""Reading a container's CRI log files for ``pods/log``: tail, since, timestamps, limit, follow.

The history is read across the rotated files, oldest first (:func:`.crilog.log_files`).
Records before ``since`` are skipped, ``tailLines`` keeps the last N records, each record is
written as its content (plus a newline when it ends a line), prefixed with its time when
``timestamps`` is asked, and output stops after ``limitBytes``.

Following keeps reading the live file: new records are written as they appear; when the
file is rotated (its path now names another inode) the rest of the old file is drained and
the new one is opened. It ends once the container has stopped and nothing more is left.

:func:`follow_output` is ``attach`` for a runtime whose containers write only to their log:
what the container writes from now on, each record to the stream it came from.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from steersman.api.podlogs import PodLogOptions, format_rfc3339_ns
from steersman.kubelet.streaming.crilog import LogRecord, log_files, parse_record
from steersman.kubelet.streaming.targets import Output

POLL_SECONDS = 0.1
Running = Callable[[], Awaitable[bool]]
_CHUNK = 64 * 1024


class _Sink(Protocol):
    @property
    def full(self) -> bool: ...

    async def record(self, record: LogRecord) -> None: ...


class _Output:
    """Renders records and enforces ``limitBytes``."""

    def __init__(self, options: PodLogOptions, write: Output) -> None:
        self._timestamps = options.timestamps
        self._left = options.limit_bytes
        self._write = write

    @property
    def full(self) -> bool:
        return self._left is not None and self._left <= 0

    async def record(self, record: LogRecord) -> None:
        data = record.content if record.partial else record.content + b"\n"
        if self._timestamps:
            data = format_rfc3339_ns(record.time_ns).encode() + b" " + data
        if self._left is not None:
            data = data[: max(self._left, 0)]
            self._left -= len(data)
        if data:
            await self._write(data)


class _StreamOutput:
    """Each record's content to its own stream (``attach``): never full."""

    full = False

    def __init__(self, stdout: Output | None, stderr: Output | None) -> None:
        self._writers = {"stdout": stdout, "stderr": stderr}

    async def record(self, record: LogRecord) -> None:
        write = self._writers.get(record.stream)
        if write is not None:
            await write(record.content if record.partial else record.content + b"\n")


class _LiveFile:
    """The live log file, read incrementally; knows when it has been rotated away."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: BinaryIO | None = None
        self._inode = -1
        self._rest = b""
        self._open()

    def _open(self) -> None:
        try:
            self._file = open(self.path, "rb")  # noqa: SIM115 - closed in close()
        except FileNotFoundError:
            self._file = None
            return
        self._inode = os.fstat(self._file.fileno()).st_ino
        self._rest = b""

    def records(self) -> list[LogRecord]:
        """Complete records written since the last call."""
        if self._file is None:
            self._open()
            if self._file is None:
                return []
        data = self._rest + self._file.read()
        *lines, self._rest = data.split(b"\n")
        return [r for r in (parse_record(line) for line in lines) if r is not None]

    def skip_to_end(self) -> None:
        if self._file is not None:
            self._file.seek(0, os.SEEK_END)
            self._rest = b""

    def rotated(self) -> bool:
        try:
            return os.stat(self.path).st_ino != self._inode
        except FileNotFoundError:
            return False

    def reopen(self) -> None:
        self.close()
        self._open()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _file_records(path: Path) -> Iterator[LogRecord]:
    with open(path, "rb") as stream:
        rest = b""
        while chunk := stream.read(_CHUNK):
            *lines, rest = (rest + chunk).split(b"\n")
            for line in lines:
                record = parse_record(line)
                if record is not None:
                    yield record


def _snapshot(live: _LiveFile, since_ns: int | None) -> Iterator[LogRecord]:
    """Records written so far, the rotated files' first, from ``since`` on."""
    for file in log_files(live.path):
        if file == live.path:
            continue
        for record in _file_records(file):
            if since_ns is None or record.time_ns >= since_ns:
                yield record
    for record in live.records():
        if since_ns is None or record.time_ns >= since_ns:
            yield record


def since_ns(options: PodLogOptions, now_ns: int) -> int | None:
    if options.since_time_ns is not None:
        return options.since_time_ns
    if options.since_seconds is not None:
        return now_ns - options.since_seconds * 1_000_000_000
    return None


async def stream_logs(path: Path, options: PodLogOptions, write: Output, *,
                      running: Running, clock: Callable[[], int] = time.time_ns,
                      poll_seconds: float = POLL_SECONDS) -> None:
    """Write the log of the container whose live file is ``path`` as ``options`` ask."""
    output = _Output(options, write)
    since = since_ns(options, clock())
    live = _LiveFile(path)
    try:
        records: Iterable[LogRecord] = _snapshot(live, since)
        if options.tail_lines is not None:
            records = deque(records, options.tail_lines)
        for record in records:
            if output.full:
                return
            await output.record(record)
        if options.follow:
            await _follow(live, output, running=running, poll_seconds=poll_seconds)
    finally:
        live.close()


async def follow_output(path: Path, *, stdout: Output | None, stderr: Output | None,
                        running: Running, poll_seconds: float = POLL_SECONDS) -> None:
    """Write what the container whose live log is ``path`` writes from now on, by stream,
    until it stops."""
    live = _LiveFile(path)
    live.skip_to_end()
    try:
        await _follow(live, _StreamOutput(stdout, stderr), running=running,
                      poll_seconds=poll_seconds)
    finally:
        live.close()


async def _follow(live: _LiveFile, output: _Sink, *, running: Running,
                  poll_seconds: float) -> None:
    while not output.full:
        stopped = not await running()
        fresh = live.records()
        if live.rotated():
            fresh += live.records()
            live.reopen()
            fresh += live.records()
        for record in fresh:
            if output.full:
                return
            await output.record(record)
        if stopped and not fresh:
            return
        if not fresh:
            await asyncio.sleep(poll_seconds)
