"""Forwarding names outside the cluster zone to upstream resolvers.

Each query goes to the upstreams in order over UDP (a fresh connected socket per query,
so only the upstream's own answer is accepted); an answer with TC set is asked again over
TCP. A UDP client gets the full answer only if it fits its limit, else the truncated one,
so it retries over TCP itself. When no upstream answers, the caller sends SERVFAIL.

Upstreams default to the ``nameserver`` lines of ``/etc/resolv.conf``, minus the cluster
DNS's own address (forwarding to ourselves would loop, the failure CoreDNS's ``loop``
plugin exists for).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)
_TC = 0x0200


@dataclass(frozen=True)
class Upstream:
    host: str
    port: int = 53

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_upstream(text: str) -> Upstream:
    """``IP``, ``IP:PORT``, ``[IPv6]:PORT`` or a bare IPv6 address → :class:`Upstream`."""
    text = text.strip()
    host, port = text, "53"
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif text.count(":") == 1:
        host, port = text.split(":")
    try:
        ipaddress.ip_address(host)
        number = int(port)
    except ValueError as exc:
        raise ValueError(f"DNS upstream {text!r} is not IP[:PORT] (e.g. 127.0.0.53 or "
                         f"[::1]:5353)") from exc
    if not 0 < number < 65536:
        raise ValueError(f"DNS upstream {text!r}: port {number} is out of range")
    return Upstream(host, number)


def resolv_conf_upstreams(path: Path = Path("/etc/resolv.conf"), *,
                          exclude: Sequence[str] = ()) -> list[Upstream]:
    """The nameservers of a resolv.conf file, without the addresses in ``exclude``."""
    try:
        text = path.read_text()
    except OSError as err:
        log.warning("DNS: cannot read %s (%s): names outside the cluster will fail", path, err)
        return []
    upstreams = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == "nameserver" and fields[1] not in exclude:
            try:
                upstreams.append(parse_upstream(fields[1].split("%")[0]))
            except ValueError:
                log.warning("DNS: %s: ignoring nameserver %r", path, fields[1])
    return upstreams


class Forwarder:
    """Asks upstream resolvers, in order, for what the cluster zone does not hold."""

    def __init__(self, upstreams: Sequence[Upstream], *, timeout: float = 2.0) -> None:
        self.upstreams = tuple(upstreams)
        self._timeout = timeout

    async def forward(self, query: bytes, *, limit: int) -> bytes | None:
        """The upstream's answer to ``query`` (at most ``limit`` bytes), or None."""
        for upstream in self.upstreams:
            try:
                answer = await asyncio.wait_for(self._ask(upstream, query, limit),
                                                self._timeout)
            except (OSError, TimeoutError, asyncio.IncompleteReadError) as err:
                log.info("DNS: upstream %s failed: %r", upstream, err)
                continue
            if answer is not None:
                return answer
        return None

    async def _ask(self, upstream: Upstream, query: bytes, limit: int) -> bytes | None:
        answer = await _ask_udp(upstream, query)
        if answer is None or not _truncated(answer):
            return answer
        full = await _ask_tcp(upstream, query)
        return full if full is not None and len(full) <= limit else answer


def _truncated(answer: bytes) -> bool:
    return len(answer) >= 4 and bool(int.from_bytes(answer[2:4]) & _TC)


class _OneAnswer(asyncio.DatagramProtocol):
    def __init__(self, query_id: bytes) -> None:
        self._query_id = query_id
        self.answer: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        if data[:2] == self._query_id and not self.answer.done():
            self.answer.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.answer.done():
            self.answer.set_exception(exc)


async def _ask_udp(upstream: Upstream, query: bytes) -> bytes | None:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: _OneAnswer(query[:2]), remote_addr=(upstream.host, upstream.port))
    try:
        transport.sendto(query)
        return await protocol.answer
    finally:
        transport.close()


async def _ask_tcp(upstream: Upstream, query: bytes) -> bytes | None:
    reader, writer = await asyncio.open_connection(upstream.host, upstream.port)
    try:
        writer.write(len(query).to_bytes(2) + query)
        await writer.drain()
        length = int.from_bytes(await reader.readexactly(2))
        answer = await reader.readexactly(length)
        return answer if answer[:2] == query[:2] else None
    finally:
        writer.close()
