"""SPDY/3.1 frames: parsing a byte stream into frames and encoding frames into bytes.

Wire format (the SPDY/3.1 draft; moby/spdystream ``spdy/read.go``, ``write.go``): every frame
has an 8-byte header. A control frame starts with the control bit, version 3 and a 16-bit
type, then 8 bits of flags and a 24-bit length; a data frame starts with a 31-bit stream id,
then flags and length. Header blocks of SYN_STREAM, SYN_REPLY and HEADERS are name/value
blocks (32-bit counts and lengths, several values joined by NUL) compressed with zlib
seeded with :data:`~.spdy_dictionary.DICTIONARY`, one compression context per direction for
the whole session — so a :class:`FrameParser` and a :class:`FrameEncoder` live as long as
their session, and frames must be parsed and encoded in wire order.

Unknown control frame types are skipped, as the draft requires; a frame of another SPDY
version or a broken header block is a :class:`ProtocolError`.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from steersman.kubelet.streaming.spdy_dictionary import DICTIONARY

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS = 1, 2, 3, 4
PING, GOAWAY, HEADERS, WINDOW_UPDATE = 6, 7, 8, 9
FLAG_FIN = 0x01
FLAG_UNIDIRECTIONAL = 0x02
SETTINGS_INITIAL_WINDOW_SIZE = 7
# RST_STREAM status codes.
PROTOCOL_ERROR, INVALID_STREAM, REFUSED_STREAM, CANCEL = 1, 2, 3, 5
MAX_FRAME_LENGTH = (1 << 24) - 1

Headers = dict[str, list[str]]


class ProtocolError(Exception):
    """The peer sent bytes that are not SPDY/3.1."""


@dataclass(frozen=True, slots=True)
class DataFrame:
    stream_id: int
    data: bytes
    fin: bool = False


@dataclass(frozen=True, slots=True)
class SynStream:
    stream_id: int
    headers: Headers
    fin: bool = False
    associated_id: int = 0
    priority: int = 0


@dataclass(frozen=True, slots=True)
class SynReply:
    stream_id: int
    headers: Headers
    fin: bool = False


@dataclass(frozen=True, slots=True)
class HeadersFrame:
    stream_id: int
    headers: Headers
    fin: bool = False


@dataclass(frozen=True, slots=True)
class RstStream:
    stream_id: int
    status: int


@dataclass(frozen=True, slots=True)
class Settings:
    values: Mapping[int, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Ping:
    ping_id: int


@dataclass(frozen=True, slots=True)
class GoAway:
    last_good_stream_id: int
    status: int = 0


@dataclass(frozen=True, slots=True)
class WindowUpdate:
    stream_id: int
    delta: int


Frame = (DataFrame | SynStream | SynReply | HeadersFrame | RstStream | Settings | Ping | GoAway
         | WindowUpdate)


# -- header blocks -----------------------------------------------------------------------


def encode_header_block(headers: Mapping[str, Sequence[str]]) -> bytes:
    parts = [struct.pack(">I", len(headers))]
    for name, values in headers.items():
        name_bytes, value_bytes = name.lower().encode(), "\0".join(values).encode()
        parts += [struct.pack(">I", len(name_bytes)), name_bytes,
                  struct.pack(">I", len(value_bytes)), value_bytes]
    return b"".join(parts)


def decode_header_block(block: bytes) -> Headers:
    try:
        (count,), offset, headers = struct.unpack_from(">I", block), 4, {}
        for _ in range(count):
            name, offset = _length_prefixed(block, offset)
            value, offset = _length_prefixed(block, offset)
            headers[name.decode().lower()] = value.decode().split("\0")
    except (struct.error, UnicodeDecodeError) as exc:
        raise ProtocolError(f"malformed header block: {exc}") from exc
    return headers


def _length_prefixed(block: bytes, offset: int) -> tuple[bytes, int]:
    (length,) = struct.unpack_from(">I", block, offset)
    end = offset + 4 + length
    if end > len(block):
        raise struct.error("header block truncated")
    return block[offset + 4:end], end


class FrameEncoder:
    """Encodes frames, compressing header blocks in one zlib context."""

    def __init__(self) -> None:
        self._compressor = zlib.compressobj(level=9, zdict=DICTIONARY)

    def _compress(self, headers: Mapping[str, Sequence[str]]) -> bytes:
        block = encode_header_block(headers)
        return self._compressor.compress(block) + self._compressor.flush(zlib.Z_SYNC_FLUSH)

    def encode(self, frame: Frame) -> bytes:
        if isinstance(frame, DataFrame):
            return _data(frame)
        kind, flags, payload = self._control(frame)
        return _control(kind, flags, payload)

    def _control(self, frame: Frame) -> tuple[int, int, bytes]:
        fin = FLAG_FIN if getattr(frame, "fin", False) else 0
        match frame:
            case SynStream():
                head = struct.pack(">IIBB", frame.stream_id, frame.associated_id,
                                   (frame.priority & 7) << 5, 0)
                return SYN_STREAM, fin, head + self._compress(frame.headers)
            case SynReply():
                return SYN_REPLY, fin, struct.pack(">I", frame.stream_id) + self._compress(
                    frame.headers)
            case HeadersFrame():
                return HEADERS, fin, struct.pack(">I", frame.stream_id) + self._compress(
                    frame.headers)
            case RstStream():
                return RST_STREAM, 0, struct.pack(">II", frame.stream_id, frame.status)
            case Settings():
                entries = b"".join(struct.pack(">II", key & 0xFFFFFF, value)
                                   for key, value in frame.values.items())
                return SETTINGS, 0, struct.pack(">I", len(frame.values)) + entries
            case Ping():
                return PING, 0, struct.pack(">I", frame.ping_id)
            case GoAway():
                return GOAWAY, 0, struct.pack(">II", frame.last_good_stream_id, frame.status)
            case WindowUpdate():
                return WINDOW_UPDATE, 0, struct.pack(">II", frame.stream_id, frame.delta)
        raise TypeError(f"not a SPDY frame: {frame!r}")


def _data(frame: DataFrame) -> bytes:
    if len(frame.data) > MAX_FRAME_LENGTH:
        raise ValueError("a SPDY data frame carries at most 16 MiB")
    flags_length = (FLAG_FIN if frame.fin else 0) << 24 | len(frame.data)
    return struct.pack(">II", frame.stream_id & 0x7FFFFFFF, flags_length) + frame.data


def _control(kind: int, flags: int, payload: bytes) -> bytes:
    return struct.pack(">HHI", 0x8000 | VERSION, kind, flags << 24 | len(payload)) + payload


class FrameParser:
    """Turns received bytes into frames; keeps the peer's zlib context and partial frames."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._decompressor = zlib.decompressobj(zdict=DICTIONARY)

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames: list[Frame] = []
        while len(self._buffer) >= 8:
            length = int.from_bytes(self._buffer[5:8], "big")
            if len(self._buffer) < 8 + length:
                break
            head, payload = bytes(self._buffer[:8]), bytes(self._buffer[8:8 + length])
            del self._buffer[:8 + length]
            frame = self._frame(head, payload)
            if frame is not None:
                frames.append(frame)
        return frames

    def _frame(self, head: bytes, payload: bytes) -> Frame | None:
        first, flags = struct.unpack_from(">I", head)[0], head[4]
        if not first & 0x80000000:
            return DataFrame(first & 0x7FFFFFFF, payload, bool(flags & FLAG_FIN))
        version, kind = (first >> 16) & 0x7FFF, first & 0xFFFF
        if version != VERSION:
            raise ProtocolError(f"SPDY version {version} is not supported, only 3")
        try:
            return self._control(kind, flags, payload)
        except struct.error as exc:
            raise ProtocolError(f"malformed control frame of type {kind}: {exc}") from exc

    def _headers(self, compressed: bytes) -> Headers:
        try:
            return decode_header_block(self._decompressor.decompress(compressed))
        except zlib.error as exc:
            raise ProtocolError(f"header block does not decompress: {exc}") from exc

    def _control(self, kind: int, flags: int, payload: bytes) -> Frame | None:
        fin = bool(flags & FLAG_FIN)
        if kind == SYN_STREAM:
            stream_id, associated, priority = struct.unpack_from(">IIB", payload)
            return SynStream(stream_id & 0x7FFFFFFF, self._headers(payload[10:]), fin,
                             associated & 0x7FFFFFFF, priority >> 5)
        if kind in (SYN_REPLY, HEADERS):
            stream_id = struct.unpack_from(">I", payload)[0] & 0x7FFFFFFF
            frame_type = SynReply if kind == SYN_REPLY else HeadersFrame
            return frame_type(stream_id, self._headers(payload[4:]), fin)
        return _simple_control(kind, payload)


def _simple_control(kind: int, payload: bytes) -> Frame | None:
    if kind == RST_STREAM:
        stream_id, status = struct.unpack_from(">II", payload)
        return RstStream(stream_id & 0x7FFFFFFF, status)
    if kind == SETTINGS:
        (count,) = struct.unpack_from(">I", payload)
        entries = (struct.unpack_from(">II", payload, 4 + 8 * i) for i in range(count))
        return Settings({key & 0xFFFFFF: value for key, value in entries})
    if kind == PING:
        return Ping(struct.unpack_from(">I", payload)[0])
    if kind == GOAWAY:
        last, status = struct.unpack_from(">II", payload)
        return GoAway(last & 0x7FFFFFFF, status)
    if kind == WINDOW_UPDATE:
        stream_id, delta = struct.unpack_from(">II", payload)
        return WindowUpdate(stream_id & 0x7FFFFFFF, delta & 0x7FFFFFFF)
    return None
