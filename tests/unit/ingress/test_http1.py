"""Head parsing and body framing, fed in every possible split."""

from __future__ import annotations

import pytest

from steersman.ingress.http1 import BadMessage, BodyTracker, Framing, parse_head

CHUNKED = b"5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nTrailer: x\r\n\r\n"


def feed_in_pieces(tracker: BodyTracker, data: bytes, cut: int) -> tuple[int, bytes]:
    used_total, out = 0, b""
    for piece in (data[:cut], data[cut:]):
        used, passed = tracker.feed(piece)
        used_total += used
        out += passed
    return used_total, out


@pytest.mark.parametrize("cut", range(len(CHUNKED) + 1))
def test_chunked_body_end_is_found_wherever_it_is_split(cut: int) -> None:
    following = b"GET /next HTTP/1.1\r\n\r\n"
    tracker = BodyTracker(Framing.CHUNKED)
    used, out = feed_in_pieces(tracker, CHUNKED + following, cut)
    assert tracker.done and used == len(CHUNKED) and out == CHUNKED
    dechunked = BodyTracker(Framing.CHUNKED, dechunk=True)
    assert feed_in_pieces(dechunked, CHUNKED, cut) == (len(CHUNKED), b"hello world")


def test_length_and_close_framing() -> None:
    tracker = BodyTracker(Framing.LENGTH, 5)
    assert tracker.feed(b"abc") == (3, b"abc") and not tracker.done
    assert tracker.feed(b"deXYZ") == (2, b"de") and tracker.done
    assert BodyTracker(Framing.LENGTH, 0).done and BodyTracker(Framing.NONE).done
    assert BodyTracker(Framing.CLOSE).feed(b"all") == (3, b"all")
    with pytest.raises(BadMessage):
        BodyTracker(Framing.CHUNKED).feed(b"zz\r\n")


def test_parse_head_indexes_lower_cased_names_and_rejects_bad_lines() -> None:
    head = parse_head(b"\r\nGET /p?q HTTP/1.1\r\nHost: a.test\r\nX-A: 1\r\nx-a: 2\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n")
    assert (head.first, head.second, head.third) == (b"GET", b"/p?q", b"HTTP/1.1")
    assert head.get(b"x-a") == b"1, 2" and head.headers[1] == (b"X-A", b"1")
    assert head.framing() == (Framing.CHUNKED, 0)
    for bad in (b"GET\r\n\r\n", b"GET / HTTP/1.1\r\nNoColon\r\n\r\n",
                b"GET / HTTP/1.1\r\nName : v\r\n\r\n"):
        with pytest.raises(BadMessage):
            parse_head(bad)
    with pytest.raises(BadMessage):
        parse_head(b"GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n").framing()
