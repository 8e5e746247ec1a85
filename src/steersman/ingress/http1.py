"""HTTP/1.1 framing for the proxy: heads parsed once, bodies relayed without re-encoding.

A message head is read whole (up to :data:`MAX_HEAD` bytes) and split into its start line
and ``(name, value)`` byte pairs; names keep their spelling and are compared lower-cased.
Bodies are passed on as they arrive, in their own framing (RFC 9112 §6); a
:class:`BodyTracker` only finds where one ends: ``chunked`` chunk by chunk (so streamed
responses and server-sent events pass at once), ``Content-Length`` exactly, or — for a
response with neither — when the upstream closes. Nothing here does I/O or knows about
routing; :mod:`steersman.ingress.exchange` drives it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

MAX_HEAD = 64 * 1024
HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer",
                        b"transfer-encoding", b"upgrade"})
Headers = list[tuple[bytes, bytes]]


class BadMessage(Exception):
    """The peer sent something that is not HTTP/1.x; ``status`` is what to answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class Framing(enum.Enum):
    NONE = "none"
    LENGTH = "length"
    CHUNKED = "chunked"
    CLOSE = "close"


@dataclass(slots=True)
class Head:
    """A parsed start line and headers; ``index`` maps lower-cased names to values."""

    first: bytes
    second: bytes
    third: bytes
    headers: Headers
    index: dict[bytes, bytes]

    def get(self, name: bytes) -> bytes | None:
        return self.index.get(name)

    def tokens(self, name: bytes) -> set[bytes]:
        """The comma-separated, lower-cased tokens of the ``name`` headers."""
        value = self.index.get(name)
        return set() if value is None else {t.strip() for t in value.lower().split(b",")}

    def framing(self) -> tuple[Framing, int]:
        encoding = self.get(b"transfer-encoding")
        if encoding is not None:
            if encoding.strip().lower().split(b",")[-1].strip() != b"chunked":
                raise BadMessage("Transfer-Encoding must end with chunked", 501)
            return Framing.CHUNKED, 0
        length = self.get(b"content-length")
        if length is None:
            return Framing.NONE, 0
        if not length.strip().isdigit():
            raise BadMessage("invalid Content-Length")
        return Framing.LENGTH, int(length)


def parse_head(raw: bytes) -> Head:
    """Parse a head that ends with its empty line (``\\r\\n\\r\\n``)."""
    lines = raw.split(b"\r\n")
    if not lines[0]:
        lines = raw.lstrip(b"\r\n").split(b"\r\n")  # RFC 9112 §2.2: skip leading CRLFs
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2:
        raise BadMessage("malformed start line")
    headers: Headers = []
    index: dict[bytes, bytes] = {}
    for line in lines[1:-2]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name[-1:] in b" \t":
            raise BadMessage("malformed header line")
        value = value.strip()
        headers.append((name, value))
        key = name.lower()
        index[key] = index[key] + b", " + value if key in index else value
    return Head(parts[0], parts[1], parts[2] if len(parts) > 2 else b"", headers, index)


def encode_head(start_line: bytes, headers: Headers) -> bytes:
    lines = [start_line, *(name + b": " + value for name, value in headers), b"", b""]
    return b"\r\n".join(lines)


class BodyTracker:
    """Where a body ends in the bytes that follow its head, fed as they arrive.

    :meth:`feed` says how many bytes of ``data`` belong to the body and what of them to
    pass on: everything, or — ``dechunk`` — only a chunked body's data (for an HTTP/1.0
    client, which cannot read chunks and is told the end by the connection closing).
    """

    __slots__ = ("_dechunk", "_line", "_state", "done", "framing", "remaining")

    def __init__(self, framing: Framing, length: int = 0, *, dechunk: bool = False) -> None:
        self.framing = framing
        self.remaining = length
        self.done = framing is Framing.NONE or (framing is Framing.LENGTH and length == 0)
        self._dechunk = dechunk
        self._state = _SIZE
        self._line = b""

    def feed(self, data: bytes) -> tuple[int, bytes]:
        if self.done:
            return 0, b""
        if self.framing is Framing.LENGTH:
            taken = min(self.remaining, len(data))
            self.remaining -= taken
            self.done = self.remaining == 0
            return taken, data[:taken] if taken < len(data) else data
        if self.framing is Framing.CLOSE:
            return len(data), data
        return self._feed_chunked(data)

    def _feed_chunked(self, data: bytes) -> tuple[int, bytes]:
        position, payload = 0, []
        while position < len(data) and not self.done:
            if self._state == _DATA:
                taken = min(self.remaining, len(data) - position)
                payload.append(data[position:position + taken])
                position += taken
                self.remaining -= taken
                if not self.remaining:
                    self._state = _DATA_END
                continue
            end = data.find(b"\n", position)
            if end < 0:
                self._line += data[position:]
                if len(self._line) > MAX_LINE:
                    raise BadMessage("chunk line too long")
                position = len(data)
                break
            line, self._line = self._line + data[position:end + 1], b""
            position = end + 1
            self._line_done(line)
        return position, (b"".join(payload) if self._dechunk else data[:position])

    def _line_done(self, line: bytes) -> None:
        if self._state == _SIZE:
            self.remaining = _chunk_size(line)
            self._state = _DATA if self.remaining else _TRAILER
        elif self._state == _DATA_END:
            self._state = _SIZE
        elif not line.strip():  # the empty line after the trailers ends the body
            self.done = True


_SIZE, _DATA, _DATA_END, _TRAILER = range(4)
MAX_LINE = 8 * 1024


def _chunk_size(line: bytes) -> int:
    try:
        return int(line.split(b";", 1)[0].strip(), 16)
    except ValueError as err:
        raise BadMessage("malformed chunk size") from err


def simple_response(status: int, reason: str, body: str, *, close: bool,
                    extra: tuple[tuple[bytes, bytes], ...] = ()) -> bytes:
    payload = body.encode()
    headers: Headers = [(b"Content-Type", b"text/plain; charset=utf-8"),
                        (b"Content-Length", str(len(payload)).encode()), *extra]
    if close:
        headers.append((b"Connection", b"close"))
    return encode_head(f"HTTP/1.1 {status} {reason}".encode(), headers) + payload
