"""SPDY/3.1 framing: round trips, the zlib dictionary, shared compression contexts."""

from __future__ import annotations

import hashlib
import struct
import zlib

import pytest

from steersman.kubelet.streaming import spdy_frames as f
from steersman.kubelet.streaming.spdy_dictionary import DICTIONARY

FRAMES: list[f.Frame] = [
    f.SynStream(1, {"streamtype": ["data"], "port": ["80"], "requestid": ["0"]}, priority=3),
    f.SynStream(3, {"x": ["a", "b"]}, fin=True),
    f.SynReply(1, {}),
    f.HeadersFrame(1, {"k": ["v"]}, fin=True),
    f.DataFrame(1, b"hello"),
    f.DataFrame(1, b"", fin=True),
    f.RstStream(3, f.CANCEL),
    f.Settings({f.SETTINGS_INITIAL_WINDOW_SIZE: 1 << 20}),
    f.Ping(7),
    f.GoAway(5, 0),
    f.WindowUpdate(0, 32768),
]


def test_the_dictionary_is_the_published_one() -> None:
    assert len(DICTIONARY) == 1423
    assert hashlib.sha256(DICTIONARY).hexdigest() == (
        "51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02")


def test_every_frame_round_trips_through_one_pair_of_contexts() -> None:
    encoder, parser = f.FrameEncoder(), f.FrameParser()
    wire = b"".join(encoder.encode(frame) for frame in FRAMES)
    assert parser.feed(wire) == FRAMES


def test_frames_split_at_any_byte_are_reassembled() -> None:
    encoder, parser = f.FrameEncoder(), f.FrameParser()
    wire = b"".join(encoder.encode(frame) for frame in FRAMES)
    parsed = [frame for byte in wire for frame in parser.feed(bytes([byte]))]
    assert parsed == FRAMES


def test_control_frame_header_layout() -> None:
    wire = f.FrameEncoder().encode(f.Ping(1))
    assert wire == bytes.fromhex("8003 0006 00000004 00000001")
    data = f.FrameEncoder().encode(f.DataFrame(5, b"ab", fin=True))
    assert data == bytes.fromhex("00000005 01000002") + b"ab"


def test_header_blocks_use_the_dictionary_and_sync_flush() -> None:
    wire = f.FrameEncoder().encode(f.SynReply(1, {"port": ["80"]}))
    compressed = wire[12:]
    plain = zlib.decompressobj(zdict=DICTIONARY).decompress(compressed)
    assert plain == struct.pack(">I", 1) + struct.pack(">I", 4) + b"port" + struct.pack(
        ">I", 2) + b"80"
    assert compressed.endswith(b"\x00\x00\xff\xff")
    with pytest.raises(zlib.error):
        zlib.decompressobj().decompress(compressed)


def test_a_go_style_header_block_decodes() -> None:
    """What moby/spdystream writes: BestCompression with the dictionary, sync-flushed."""
    block = f.encode_header_block({"streamtype": ["error"], "port": ["8080"],
                                   "requestid": ["1"]})
    compressor = zlib.compressobj(level=9, zdict=DICTIONARY)
    payload = struct.pack(">IIBB", 1, 0, 0, 0) + compressor.compress(block) + compressor.flush(
        zlib.Z_SYNC_FLUSH)
    wire = struct.pack(">HHI", 0x8003, f.SYN_STREAM, len(payload)) + payload
    (frame,) = f.FrameParser().feed(wire)
    assert frame == f.SynStream(1, {"streamtype": ["error"], "port": ["8080"],
                                    "requestid": ["1"]})


def test_unknown_control_frames_are_skipped_and_other_versions_refused() -> None:
    unknown = struct.pack(">HHI", 0x8003, 0x00FF, 4) + b"\0\0\0\0"
    assert f.FrameParser().feed(unknown + f.FrameEncoder().encode(f.Ping(3))) == [f.Ping(3)]
    with pytest.raises(f.ProtocolError, match="version 2"):
        f.FrameParser().feed(struct.pack(">HHI", 0x8002, f.PING, 4) + b"\0\0\0\1")


def test_a_corrupt_header_block_is_a_protocol_error() -> None:
    payload = struct.pack(">I", 1) + b"not zlib at all"
    with pytest.raises(f.ProtocolError):
        f.FrameParser().feed(struct.pack(">HHI", 0x8003, f.SYN_REPLY, len(payload)) + payload)
