"""The cluster zone: names → records, and the prepared answer for every (name, type) asked.

Records arrive per *owner* (a Service, a Pod, the apex) through :meth:`Zone.replace`, which
diffs them against what that owner held before; several owners may share a name (two
host-network pods with one IP) and their records are merged. Every ancestor of a name
exists too (an *empty non-terminal*: ``default.svc.cluster.local``), so it answers
NODATA rather than NXDOMAIN.

:meth:`Zone.answer` is the hot path: a dict lookup by (canonical wire name, type) returns
a :class:`~steersman.dns.wire.Tail`. Tails are built with dnslib on first use and kept
until their name changes, or a name they read does (a CNAME's target, an SRV record's
target: such reads are noted as dependencies); a change of the apex (the SOA that every
negative answer carries) drops them all. An owner's records that did not change (a pod
status update) touch nothing. Names outside the zone get ``None``: the caller forwards
them.

* a name with records of the type: NOERROR, AA, the records (SRV adds its targets'
  addresses; a CNAME is followed inside the zone);
* a name that exists without that type: NOERROR, no answer, the SOA in authority;
* a name under the zone that does not exist: NXDOMAIN, the SOA in authority.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence

from dnslib import QTYPE, RCODE, RR, DNSHeader, DNSLabel, DNSQuestion, DNSRecord

from steersman.dns.wire import Tail, tail_of

log = logging.getLogger(__name__)
_MAX_TAILS = 50_000  # names with prepared answers; beyond, answers are built per query
Signature = tuple[tuple[int, int, str], ...]
_MAX_CNAME_CHAIN = 8


def wire_name(name: str) -> bytes:
    """The canonical (lower-case, uncompressed) wire form of a dotted name."""
    labels = [_label(label) for label in name.lower().rstrip(".").split(".") if label]
    if any(len(label) > 63 for label in labels):
        raise ValueError(f"{name!r}: a label is longer than 63 bytes")
    wire = b"".join(bytes((len(label),)) + label for label in labels) + b"\x00"
    if len(wire) > 255:
        raise ValueError(f"{name!r}: longer than 255 bytes")
    return wire


def _signature(rrs: Sequence[RR]) -> Signature:
    return tuple((rr.rtype, rr.ttl, repr(rr.rdata)) for rr in rrs)


def _label(label: str) -> bytes:
    return label.encode("ascii") if label.isascii() else label.encode("idna")


def _labels(key: bytes) -> list[bytes]:
    labels, offset = [], 0
    while key[offset]:
        length = key[offset]
        labels.append(key[offset + 1:offset + 1 + length])
        offset += 1 + length
    return labels


def _suffixes(key: bytes) -> Iterator[bytes]:
    """The wire forms of ``key``'s proper ancestors, nearest first, down to the root."""
    offset = 0
    while key[offset]:
        offset += 1 + key[offset]
        yield key[offset:]


class Zone:
    """The records of one cluster domain, with answers prepared per (name, type)."""

    def __init__(self, origin: str = "cluster.local") -> None:
        self.origin = origin.lower().rstrip(".")
        self._origin_key = wire_name(self.origin)
        self._by_name: dict[bytes, dict[str, list[RR]]] = {}
        self._owned: dict[str, dict[bytes, Signature]] = {}
        self._descendants: dict[bytes, int] = {}
        self._nodes: dict[bytes, dict[int, list[RR]]] = {}
        self._tails: dict[bytes, dict[int, Tail]] = {}
        self._dependents: dict[bytes, set[bytes]] = {}
        self._soa: list[RR] = []

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and wire_name(name) in self._nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def replace(self, owner: str, records: Mapping[str, Sequence[RR]]) -> None:
        """Make ``owner`` hold exactly ``records`` (empty: nothing) in the zone."""
        new = self._keyed(owner, records)
        signatures = {key: _signature(rrs) for key, rrs in new.items()}
        old = self._owned.get(owner, {})
        changed = [key for key in old.keys() | new.keys() if old.get(key) != signatures.get(key)]
        if signatures:
            self._owned[owner] = signatures
        else:
            self._owned.pop(owner, None)
        for key in changed:
            self._set_contribution(key, owner, new.get(key))
        if self._origin_key in changed:
            # Every negative answer carries the SOA.
            self._soa = (self._nodes.get(self._origin_key) or {}).get(QTYPE.SOA, [])
            self._tails.clear()
            self._dependents.clear()

    def _keyed(self, owner: str, records: Mapping[str, Sequence[RR]]) -> dict[bytes, list[RR]]:
        keyed: dict[bytes, list[RR]] = {}
        for name, rrs in records.items():
            try:
                key = wire_name(name)
            except ValueError as err:
                log.warning("DNS: %s: skipping a name that DNS cannot carry: %s", owner, err)
                continue
            if not self._in_zone(key):
                log.warning("DNS: %s: %s is outside %s; skipped", owner, name, self.origin)
                continue
            keyed[key] = list(rrs)
        return keyed

    def _set_contribution(self, key: bytes, owner: str, rrs: list[RR] | None) -> None:
        owners = self._by_name.get(key)
        existed = owners is not None
        if rrs is None:
            if owners is not None:
                owners.pop(owner, None)
                if not owners:
                    del self._by_name[key]
        else:
            self._by_name.setdefault(key, {})[owner] = rrs
        exists = key in self._by_name
        if exists != existed:
            self._count_ancestors(key, 1 if exists else -1)
        self._rebuild(key)

    def _count_ancestors(self, key: bytes, delta: int) -> None:
        for ancestor in _suffixes(key):
            if not self._in_zone(ancestor):
                break
            count = self._descendants.get(ancestor, 0) + delta
            if count:
                self._descendants[ancestor] = count
            else:
                self._descendants.pop(ancestor, None)
            if (count == 0 or count == delta) and ancestor not in self._by_name:
                self._rebuild(ancestor)  # an empty non-terminal appears or goes

    def _rebuild(self, key: bytes) -> None:
        self._invalidate(key)
        owners = self._by_name.get(key)
        if owners is None and key not in self._descendants:
            self._nodes.pop(key, None)
            return
        node: dict[int, list[RR]] = {}
        seen: set[tuple[int, str]] = set()
        for rrs in (owners or {}).values():
            for rr in rrs:
                identity = (rr.rtype, repr(rr.rdata))
                if identity not in seen:
                    seen.add(identity)
                    node.setdefault(rr.rtype, []).append(rr)
        self._nodes[key] = node

    def _invalidate(self, key: bytes) -> None:
        """Drop the prepared answers of ``key`` and of every answer that read it."""
        self._tails.pop(key, None)
        for dependent in self._dependents.pop(key, ()):
            self._tails.pop(dependent, None)

    def _in_zone(self, key: bytes) -> bool:
        return key == self._origin_key or any(
            suffix == self._origin_key for suffix in _suffixes(key))

    def answer(self, key: bytes, qtype: int) -> Tail | None:
        """The prepared response to ``key``/``qtype``; None for a name outside the zone."""
        tails = self._tails.get(key)
        if tails is not None and qtype in tails:
            return tails[qtype]
        if key not in self._nodes and not self._in_zone(key):
            return None
        tail = tail_of(self._response(key, qtype))
        if tails is not None:
            tails[qtype] = tail
        elif len(self._tails) < _MAX_TAILS:
            self._tails[key] = {qtype: tail}
        return tail

    def _response(self, key: bytes, qtype: int) -> DNSRecord:
        record = DNSRecord(DNSHeader(qr=1, aa=1, ra=1),
                           q=DNSQuestion(DNSLabel(_labels(key)), qtype))
        node = self._nodes.get(key)
        if node is None:
            record.header.rcode = RCODE.NXDOMAIN
            record.add_auth(*self._soa)
            return record
        answers = self._answers(key, node, qtype)
        if not answers:
            record.add_auth(*self._soa)
            return record
        record.add_answer(*answers)
        record.add_ar(*self._additionals(key, answers))
        return record

    def _read(self, reader: bytes, name: str) -> dict[int, list[RR]] | None:
        """The node of ``name``, noting that the answer for ``reader`` depends on it."""
        key = wire_name(name)
        self._dependents.setdefault(key, set()).add(reader)
        return self._nodes.get(key)

    def _answers(self, key: bytes, node: dict[int, list[RR]], qtype: int) -> list[RR]:
        if qtype == QTYPE.ANY:
            return [rr for rrs in node.values() for rr in rrs]
        if qtype in node or QTYPE.CNAME not in node:
            return list(node.get(qtype, ()))
        answers = list(node[QTYPE.CNAME])
        for _ in range(_MAX_CNAME_CHAIN):
            target = self._read(key, str(answers[-1].rdata.label))
            if target is None:
                break
            if qtype in target:
                answers.extend(target[qtype])
                break
            if QTYPE.CNAME not in target:
                break
            answers.extend(target[QTYPE.CNAME])
        return answers

    def _additionals(self, key: bytes, answers: list[RR]) -> list[RR]:
        extra: list[RR] = []
        for rr in answers:
            if rr.rtype != QTYPE.SRV:
                continue
            target = self._read(key, str(rr.rdata.target))
            for rtype in (QTYPE.A, QTYPE.AAAA):
                extra.extend(r for r in (target or {}).get(rtype, ()) if r not in extra)
        return extra
