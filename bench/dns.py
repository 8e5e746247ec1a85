"""Cluster DNS benchmark: query latency at a fixed offered rate, and programming latency.

Starts its own ``steersman server`` (temporary data dir, in-memory store, no controllers,
scheduler or ingress; DNS on 127.0.0.1 at a free port, forwarding to 127.0.0.1:9, which
nothing here ever asks), fills it through the API with ``--services`` headless Services of
``--endpoints`` ready endpoints each (one EndpointSlice per Service), then:

1. **latency**: UDP queries at ``--rate`` per second, open loop (sent on schedule whether
   or not answers came back), for ``--seconds``, names drawn from the Services and their
   endpoint names; per-query latency from send to answer, by query ID. The same client at
   the same rate against a trivial asyncio UDP echo server in its own process gives the
   same-run baseline: the floor of this client and this machine.
   A one-second warm-up comes first (answers are packed on first use) and is reported
   apart.
2. **programming**: ``--changes`` EndpointSlice updates at ``--change-rate`` per second,
   each moving one endpoint of one Service to a new address, while the same query load
   runs; the time from sending the update to the first DNS answer that holds the new
   address (polled every 5 ms), and the query latency during the changes.

Progress goes to stderr; stdout gets exactly one JSON line with the figures and targets
(p99 ≤ 10 ms at 5,000 queries/s; programming p99 ≤ 1 s). ``--quick`` is a short run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dnslib import DNSRecord

from steersman.client import ENDPOINTSLICES, NAMESPACES, SERVICES, Client, load_kubeconfig

TARGETS = {"dns_p99_ms_at_5000_qps": 10.0, "programming_p99_ms": 1000.0}
NAMESPACE = "bench-dns"
_ECHO = """
import asyncio, sys
class Echo(asyncio.DatagramProtocol):
    def connection_made(self, transport): self.transport = transport
    def datagram_received(self, data, addr): self.transport.sendto(data, addr)
async def main():
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
    print(transport.get_extra_info("sockname")[1], flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


def log(message: str) -> None:
    print(f"[dns-bench] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def running(argv: list[str], *, log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def wait_for_line(path: Path, pattern: str, process: subprocess.Popen[bytes],
                  timeout: float = 60) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = re.search(pattern, path.read_text(errors="replace"))
        if match:
            return match
        if process.poll() is not None:
            raise RuntimeError(f"process exited early:\n{path.read_text(errors='replace')}")
        time.sleep(0.05)
    raise RuntimeError(f"{pattern!r} not seen within {timeout}s")


# --- filling the cluster ------------------------------------------------------------------

def service(index: int) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"svc-{index}"},
            "spec": {"clusterIP": "None",
                     "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}}


def endpoint_slice(index: int, addresses: list[str]) -> dict[str, Any]:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": f"svc-{index}-1",
                         "labels": {"kubernetes.io/service-name": f"svc-{index}"}},
            "addressType": "IPv4", "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
            "endpoints": [{"addresses": [address], "conditions": {"ready": True}}
                          for address in addresses]}


def addresses(index: int, count: int) -> list[str]:
    return [f"10.{index // 250}.{index % 250}.{n + 1}" for n in range(count)]


async def fill(client: Client, services: int, endpoints: int) -> None:
    await client.create(NAMESPACES, {"metadata": {"name": NAMESPACE}})
    gate = asyncio.Semaphore(16)

    async def one(index: int) -> None:
        async with gate:
            await client.create(SERVICES, service(index), namespace=NAMESPACE)
            await client.create(ENDPOINTSLICES, endpoint_slice(index, addresses(index, endpoints)),
                                namespace=NAMESPACE)

    await asyncio.gather(*(one(index) for index in range(services)))


def name_of(index: int) -> str:
    return f"svc-{index}.{NAMESPACE}.svc.cluster.local"


# --- open-loop UDP load ---------------------------------------------------------------------

@dataclass
class LoadResult:
    sent: int
    answered: int
    seconds: float
    latencies_ms: list[float]

    def summary(self) -> dict[str, float]:
        ordered = sorted(self.latencies_ms) or [float("nan")]
        return {"offered_qps": round(self.sent / self.seconds),
                "answered_qps": round(self.answered / self.seconds),
                "lost": self.sent - self.answered,
                "p50_ms": round(statistics.median(ordered), 3),
                "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3),
                "max_ms": round(ordered[-1], 3)}


async def offered_load(port: int, queries: list[bytes], *, rate: float,
                       seconds: float) -> LoadResult:
    """Send ``rate`` queries/s for ``seconds`` (open loop) and time every answer."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.setblocking(False)
    sock.connect(("127.0.0.1", port))
    pending: dict[bytes, float] = {}
    latencies: list[float] = []

    def readable() -> None:
        now = time.perf_counter()
        while True:
            try:
                data = sock.recv(65535)
            except BlockingIOError:
                return
            started = pending.pop(data[:2], None)
            if started is not None:
                latencies.append((now - started) * 1000)

    loop.add_reader(sock.fileno(), readable)
    sent, start = 0, time.perf_counter()
    try:
        while (now := time.perf_counter()) - start < seconds:
            for _ in range(int((now - start) * rate) - sent):
                query = queries[sent % len(queries)]
                query_id = (sent % 65536).to_bytes(2)
                pending[query_id] = time.perf_counter()
                sock.send(query_id + query[2:])
                sent += 1
            await asyncio.sleep(0.0005)
        await asyncio.sleep(1.0)  # stragglers
    finally:
        loop.remove_reader(sock.fileno())
        sock.close()
    return LoadResult(sent, len(latencies), seconds, latencies)


def packed_queries(services: int, endpoints: int) -> list[bytes]:
    names = []
    for index in range(services):
        names.append(name_of(index))
        names.append(f"{addresses(index, endpoints)[0].replace('.', '-')}.{name_of(index)}")
    return [bytes(DNSRecord.question(name, "A").pack()) for name in names]


# --- programming latency -------------------------------------------------------------------

async def resolve(port: int, name: str) -> set[str]:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    try:
        await loop.sock_connect(sock, ("127.0.0.1", port))
        await loop.sock_sendall(sock, bytes(DNSRecord.question(name, "A").pack()))
        answer = await asyncio.wait_for(loop.sock_recv(sock, 65535), 1.0)
    except TimeoutError:
        return set()
    finally:
        sock.close()
    return {str(rr.rdata) for rr in DNSRecord.parse(answer).rr}


async def one_change(client: Client, port: int, index: int, round_: int,
                     endpoints: int) -> float:
    new = f"10.{200 + round_ // 250}.{round_ % 250}.{index % 250 + 1}"
    moved = [*addresses(index, endpoints)[1:], new]
    started = time.perf_counter()
    await client.patch(ENDPOINTSLICES, f"svc-{index}-1",
                       {"endpoints": endpoint_slice(index, moved)["endpoints"]},
                       namespace=NAMESPACE)
    while True:
        if new in await resolve(port, name_of(index)):
            return (time.perf_counter() - started) * 1000
        await asyncio.sleep(0.005)


async def programming(client: Client, port: int, *, services: int, endpoints: int,
                      changes: int, rate: float) -> dict[str, float]:
    tasks = []
    for round_ in range(changes):
        index = (round_ * 7919) % services
        tasks.append(asyncio.create_task(one_change(client, port, index, round_, endpoints)))
        await asyncio.sleep(1 / rate)
    times = sorted(await asyncio.gather(*tasks))
    return {"changes": changes, "change_rate": rate,
            "p50_ms": round(statistics.median(times), 1),
            "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 1),
            "max_ms": round(times[-1], 1)}


# --- the run --------------------------------------------------------------------------------

async def wait_programmed(port: int, services: int, endpoints: int,
                          timeout: float = 120) -> float:
    started = time.perf_counter()
    last = name_of(services - 1)
    while len(await resolve(port, last)) < endpoints:
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"{last} not answered in full within {timeout}s")
        await asyncio.sleep(0.05)
    return time.perf_counter() - started


async def measure(args: argparse.Namespace, kubeconfig: Path, dns_port: int,
                  echo_port: int) -> dict[str, Any]:
    async with Client(load_kubeconfig(kubeconfig), qps=5000, burst=5000) as client:
        log(f"filling {args.services} Services x {args.endpoints} endpoints")
        started = time.perf_counter()
        await fill(client, args.services, args.endpoints)
        filled = time.perf_counter() - started
        settled = await wait_programmed(dns_port, args.services, args.endpoints)
        queries = packed_queries(args.services, args.endpoints)
        log(f"latency at {args.rate} q/s for {args.seconds}s: warm-up (first answers are "
            f"packed on first use), DNS, then the echo baseline")
        warmup = await offered_load(dns_port, queries, rate=args.rate, seconds=1.0)
        dns = await offered_load(dns_port, queries, rate=args.rate, seconds=args.seconds)
        echo = await offered_load(echo_port, queries, rate=args.rate, seconds=args.seconds)
        log(f"programming: {args.changes} slice changes at {args.change_rate}/s, under the "
            f"same query load")
        churn, program = await asyncio.gather(
            offered_load(dns_port, queries, rate=args.rate,
                         seconds=args.changes / args.change_rate),
            programming(client, dns_port, services=args.services, endpoints=args.endpoints,
                        changes=args.changes, rate=args.change_rate))
    return {"fill_s": round(filled, 2), "fill_to_dns_s": round(settled, 2),
            "dns_warmup": warmup.summary(), "dns": dns.summary(),
            "baseline_udp_echo": echo.summary(), "dns_during_changes": churn.summary(),
            "programming": program}


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="steersman-dns-bench-") as tmp:
        data_dir = Path(tmp)
        server_log, echo_log = data_dir / "server.log", data_dir / "echo.log"
        argv = [sys.executable, "-m", "steersman", "server", "--data-dir", str(data_dir),
                "--port", "0", "--store", "memory://", "--controllers", "",
                "--no-scheduler", "--no-ingress", "--dns-address", "127.0.0.1",
                "--dns-port", "0", "--dns-upstream", "127.0.0.1:9"]
        with running(argv, log_path=server_log) as server, \
                running([sys.executable, "-c", _ECHO], log_path=echo_log) as echo:
            dns_port = int(wait_for_line(server_log, r"cluster DNS: 127\.0\.0\.1:(\d+)",
                                         server).group(1))
            echo_port = int(wait_for_line(echo_log, r"^(\d+)$", echo).group(1))
            _pin(server.pid, echo.pid)
            figures = asyncio.run(measure(args, data_dir / "admin.kubeconfig", dns_port,
                                          echo_port))
    figures.update(services=args.services, endpoints=args.endpoints, rate=args.rate,
                   seconds=args.seconds, targets=TARGETS, cpus=os.cpu_count())
    figures["meets_targets"] = (
        figures["dns"]["p99_ms"] <= TARGETS["dns_p99_ms_at_5000_qps"]
        and figures["dns"]["lost"] == 0
        and figures["programming"]["p99_ms"] <= TARGETS["programming_p99_ms"])
    return figures


def _pin(*server_pids: int) -> None:
    """Servers on CPU 0, this client on the others, when there are two or more."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return
    for pid in server_pids:
        os.sched_setaffinity(pid, {cpus[0]})
    os.sched_setaffinity(0, set(cpus[1:]))


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument("--rate", type=float, default=5000.0, help="queries per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--change-rate", type=float, default=50.0)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.changes = 3.0, 50
    return args


def main(argv: list[str] | None = None, emit: Callable[[str], None] = print) -> None:
    emit(json.dumps(run(parse_args(sys.argv[1:] if argv is None else argv))))


if __name__ == "__main__":
    main()
