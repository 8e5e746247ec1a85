"""Reading queries and assembling responses by hand, checked against dnslib."""

from __future__ import annotations

import pytest
from dnslib import EDNS0, QTYPE, RR, A, DNSRecord

from steersman.dns.wire import (
    FORMERR,
    MalformedQuery,
    assemble,
    header_error,
    parse_query,
    tail_of,
)


def _reply_with(query: DNSRecord, count: int) -> DNSRecord:
    reply = DNSRecord.question(str(query.q.qname).lower(), QTYPE[query.q.qtype]).reply()
    for index in range(count):
        reply.add_answer(RR(reply.q.qname, QTYPE.A, rdata=A(f"10.0.{index // 250}.{index % 250}"),
                            ttl=5))
    return reply


def test_a_response_is_the_query_question_plus_the_prepared_tail() -> None:
    query = DNSRecord.question("Web.Default.svc.cluster.local", "A")
    query.header.id = 4242
    parsed = parse_query(query.pack())
    assert parsed.key == b"\x03web\x07default\x03svc\x07cluster\x05local\x00"
    assert parsed.qtype == QTYPE.A and parsed.opcode == 0 and parsed.udp_limit() == 512
    response = DNSRecord.parse(assemble(parsed, tail_of(_reply_with(query, 2)), limit=512))
    assert response.header.id == 4242 and response.header.rd == 1 and response.header.qr == 1
    assert str(response.q.qname) == "Web.Default.svc.cluster.local."
    assert [str(rr.rdata) for rr in response.rr] == ["10.0.0.0", "10.0.0.1"]
    assert str(response.rr[0].rname).lower() == "web.default.svc.cluster.local."


def test_an_answer_over_the_udp_limit_is_truncated() -> None:
    query = DNSRecord.question("many.example", "A")
    parsed = parse_query(query.pack())
    tail = tail_of(_reply_with(query, 60))
    truncated = DNSRecord.parse(assemble(parsed, tail, limit=parsed.udp_limit()))
    assert truncated.header.tc == 1 and not truncated.rr
    full = DNSRecord.parse(assemble(parsed, tail, limit=65535))
    assert full.header.tc == 0 and len(full.rr) == 60


def test_edns_raises_the_limit_and_is_echoed() -> None:
    query = DNSRecord.question("many.example", "A")
    query.add_ar(EDNS0(udp_len=4096))
    parsed = parse_query(query.pack())
    assert parsed.edns_size == 4096 and parsed.udp_limit() == 1232
    response = DNSRecord.parse(assemble(parsed, tail_of(_reply_with(query, 60)), limit=1232))
    assert len(response.rr) == 60
    assert [QTYPE[rr.rtype] for rr in response.ar] == ["OPT"]


@pytest.mark.parametrize("data, problem", [
    (b"\x00\x01", "shorter than a DNS header"),
    (DNSRecord.question("a.b").reply().pack(), "a response"),
    (b"\x00\x01\x01\x00\x00\x02" + b"\x00" * 6, "2 questions"),
    (b"\x00\x01\x01\x00\x00\x01" + b"\x00" * 6 + b"\x03ab", "runs past the end"),
    (b"\x00\x01\x01\x00\x00\x01" + b"\x00" * 6 + b"\xc0\x0c\x00\x01\x00\x01", "compressed"),
])
def test_malformed_queries_are_refused(data: bytes, problem: str) -> None:
    with pytest.raises(MalformedQuery, match=problem):
        parse_query(bytes(data))


def test_formerr_answers_a_bad_query_but_never_a_response_or_a_fragment() -> None:
    error = header_error(b"\x12\x34\x01\x00\x00\x02" + b"\x00" * 6, FORMERR)
    assert error is not None
    header = DNSRecord.parse(error).header
    assert header.id == 0x1234 and header.rcode == FORMERR and header.qr == 1
    assert header_error(bytes(DNSRecord.question("a.b").reply().pack()), FORMERR) is None
    assert header_error(b"\x00", FORMERR) is None
