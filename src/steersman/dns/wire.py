"""The DNS wire format on the hot path: read a query's question, assemble a response.

A query is read by hand (header, one question, an optional EDNS OPT record) rather than
through dnslib, and an answer is assembled from a prepared :class:`Tail`: the answer,
authority and additional sections packed once, by dnslib, after the *canonical* (lower-case)
question. A query's question differs from the canonical one only in letter case, so it
has the same length and every compression pointer in the tail still lands on the same
labels: a response is header + the query's own question + tail, byte for byte what dnslib
would pack, with the client's 0x20 case preserved.

UDP answers larger than the client's limit (512 bytes, or its EDNS payload size capped at
1232) are sent truncated (TC set, question only), so the client retries over TCP.

Neighbours: :mod:`.zone` prepares tails; :mod:`.server` calls :func:`parse_query` and
:func:`assemble` on every datagram.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from dnslib import DNSRecord

_HEADER = struct.Struct("!HHHHH")
_COUNTS = struct.Struct("!HHH")
_QR, _AA, _TC, _RD, _RA = 0x8000, 0x0400, 0x0200, 0x0100, 0x0080
_OPCODE_MASK = 0x7800
OPT_TYPE = 41
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5
CLASSIC_UDP_LIMIT = 512
EDNS_UDP_LIMIT = 1232
TCP_LIMIT = 65535
# Our OPT record: root owner, type OPT, payload size 1232, no extended flags, no options.
_OPT = b"\x00" + struct.pack("!HHIH", OPT_TYPE, EDNS_UDP_LIMIT, 0, 0)


class MalformedQuery(ValueError):
    """A datagram that is not a well-formed single-question DNS query."""


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: the raw bytes plus where its parts are."""

    data: bytes
    flags: int
    name: bytes
    qtype: int
    question_end: int
    edns_size: int

    @property
    def key(self) -> bytes:
        """The question name in canonical (lower-case) wire form: the zone's lookup key."""
        return self.name.lower()

    @property
    def opcode(self) -> int:
        return (self.flags & _OPCODE_MASK) >> 11

    def udp_limit(self) -> int:
        if not self.edns_size:
            return CLASSIC_UDP_LIMIT
        return max(CLASSIC_UDP_LIMIT, min(self.edns_size, EDNS_UDP_LIMIT))


@dataclass(frozen=True, slots=True)
class Tail:
    """Everything of a response after its question: rcode, AA, section counts and bytes."""

    rcode: int
    authoritative: bool
    answers: int
    authorities: int
    additionals: int
    body: bytes


def parse_query(data: bytes) -> Query:
    """Read the header, the single question and an OPT record of ``data``."""
    data = bytes(data)  # no copy for bytes; dnslib packs bytearrays
    if len(data) < 12:
        raise MalformedQuery("shorter than a DNS header")
    flags, qdcount, ancount, nscount, arcount = _HEADER.unpack_from(data, 2)
    if flags & _QR:
        raise MalformedQuery("a response, not a query")
    if qdcount != 1:
        raise MalformedQuery(f"{qdcount} questions (exactly one is supported)")
    name_end = _name_end(data, 12)
    if name_end + 4 > len(data):
        raise MalformedQuery("question cut short")
    qtype = int.from_bytes(data[name_end:name_end + 2])
    question_end = name_end + 4
    edns = 0
    if arcount and not ancount and not nscount:
        edns = _edns_size(data, question_end)
    return Query(data, flags, data[12:name_end], qtype, question_end, edns)


def _name_end(data: bytes, offset: int) -> int:
    """The offset after the uncompressed name at ``offset``."""
    start = offset
    while True:
        if offset >= len(data):
            raise MalformedQuery("name runs past the end")
        length = data[offset]
        if length == 0:
            offset += 1
            break
        if length > 63:
            raise MalformedQuery("compressed or extended label in the question")
        offset += 1 + length
    if offset - start > 255:
        raise MalformedQuery("name longer than 255 bytes")
    return offset


def _edns_size(data: bytes, offset: int) -> int:
    """The UDP payload size of an OPT record at ``offset`` (the first additional), or 0."""
    if len(data) >= offset + 11 and data[offset] == 0:
        rtype, size = struct.unpack_from("!HH", data, offset + 1)
        if rtype == OPT_TYPE:
            return int(size)
    return 0


def assemble(query: Query, tail: Tail, *, limit: int) -> bytes:
    """The response to ``query`` made of ``tail``; truncated when over ``limit`` bytes."""
    flags = _QR | (query.flags & _RD) | _RA | tail.rcode
    if tail.authoritative:
        flags |= _AA
    opt = _OPT if query.edns_size else b""
    question = query.data[12:query.question_end]
    additionals = tail.additionals + (1 if opt else 0)
    size = 12 + len(question) + len(tail.body) + len(opt)
    if size > limit:
        header = query.data[:2] + _HEADER.pack(flags | _TC, 1, 0, 0, 1 if opt else 0)
        return header + question + opt
    header = query.data[:2] + _HEADER.pack(flags, 1, tail.answers, tail.authorities,
                                           additionals)
    return b"".join((header, question, tail.body, opt))


def tail_of(record: DNSRecord) -> Tail:
    """Pack a dnslib response (one question) and keep what follows the question."""
    packed = record.pack()
    question_end = _name_end(packed, 12) + 4
    answers, authorities, additionals = _COUNTS.unpack_from(packed, 6)
    return Tail(rcode=record.header.rcode, authoritative=bool(record.header.aa),
                answers=answers, authorities=authorities, additionals=additionals,
                body=packed[question_end:])


def error_tail(rcode: int) -> Tail:
    """An empty response with ``rcode`` (SERVFAIL when no upstream answers, REFUSED, …)."""
    return Tail(rcode=rcode, authoritative=False, answers=0, authorities=0, additionals=0,
                body=b"")


def header_error(data: bytes, rcode: int) -> bytes | None:
    """A bare header with ``rcode`` for a query we cannot read; None if not even a header."""
    if len(data) < 12:
        return None
    flags = int.from_bytes(data[2:4])
    if flags & _QR:
        return None  # never answer a response: that is how reflection loops start
    out = _QR | (flags & (_OPCODE_MASK | _RD)) | _RA | rcode
    return data[:2] + _HEADER.pack(out, 0, 0, 0, 0)
