"""A fake upstream resolver on a loopback address, for forwarding tests (unit and e2e).

It answers every A question with one address from 192.0.2.0/24 (documentation range: an
answer only, never contacted), except ``big.<anything>``: 60 addresses, too many for a
512-byte UDP answer, so over UDP it answers truncated (TC) and over TCP in full. It records
what it was asked. UDP and TCP share one ephemeral port; both run in daemon threads and
stop on :meth:`FakeUpstream.close`.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

from dnslib import QTYPE, RR, A, DNSRecord

FORWARDED_ADDRESS = "192.0.2.7"


@dataclass
class FakeUpstream:
    host: str = "127.0.0.1"
    asked: list[tuple[str, str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stopping = threading.Event()
        self._udp, self._tcp = _bind_pair(self.host)
        self.port = self._udp.getsockname()[1]
        self._threads = [threading.Thread(target=self._serve_udp, daemon=True),
                         threading.Thread(target=self._serve_tcp, daemon=True)]
        for thread in self._threads:
            thread.start()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def close(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._udp.close()
        self._tcp.close()

    def _reply(self, data: bytes, protocol: str) -> bytes:
        request = DNSRecord.parse(data)
        name = str(request.q.qname).lower()
        self.asked.append((protocol, name, QTYPE[request.q.qtype]))
        reply = request.reply()
        if name.startswith("big.") and protocol == "udp":
            reply.header.tc = 1
            return bytes(reply.pack())
        count = 60 if name.startswith("big.") else 1
        for index in range(count):
            address = FORWARDED_ADDRESS if count == 1 else f"192.0.2.{index + 1}"
            reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(address), ttl=60))
        return bytes(reply.pack())

    def _serve_udp(self) -> None:
        self._udp.settimeout(0.05)
        while not self._stopping.is_set():
            try:
                data, peer = self._udp.recvfrom(65535)
            except TimeoutError:
                continue
            self._udp.sendto(self._reply(data, "udp"), peer)

    def _serve_tcp(self) -> None:
        self._tcp.settimeout(0.05)
        while not self._stopping.is_set():
            try:
                conn, _ = self._tcp.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                length = int.from_bytes(_read(conn, 2))
                answer = self._reply(_read(conn, length), "tcp")
                conn.sendall(len(answer).to_bytes(2) + answer)


def _read(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("peer closed")
        data += chunk
    return data


def _bind_pair(host: str) -> tuple[socket.socket, socket.socket]:
    for _ in range(20):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind((host, 0))
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            tcp.bind((host, udp.getsockname()[1]))
        except OSError:
            udp.close()
            tcp.close()
            continue
        tcp.listen(16)
        return udp, tcp
    raise OSError(f"no port free for both UDP and TCP on {host}")
