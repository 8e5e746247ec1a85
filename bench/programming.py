"""Network programming latency: an EndpointSlice change → the userspace proxy following it.

The ``programming`` section of ``bench/dataplane.py`` (issue #5; target p99 ≤ 1 s with
1,000 Services x 10 endpoints). Services without a selector are created in their own
namespace with one EndpointSlice each, written directly through the API (no pods), every
endpoint on its own ``127.42.x.y`` address and one port. Only the *measured* Services'
endpoints listen (here, in this process): each answers a connection with its own address
and closes it, so a connection through the Service's ClusterIP says which endpoint the
proxy chose.

A change alternates between adding a listening endpoint to a measured Service's slice and
removing it again. Its latency runs from just before the slice update is sent to:

* add — the first connection through the ClusterIP that reaches the new endpoint;
* remove — the first connection after the last one that reached the removed endpoint,
  once ``2 x endpoints`` connections in a row have missed it.

Connections are made one at a time with a short pause, so the resolution is one
round-robin cycle (``probe_cycle_ms``, reported). The same changes are first measured
with the measured Services alone (the same-run baseline), then again after every other
Service has been created. The namespace is deleted at the end and its Services waited for.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from steersman.client import ENDPOINTSLICES, NAMESPACES, SERVICES, Client, load_kubeconfig

NAMESPACE = "bench-programming"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY = {"endpointslice.kubernetes.io/managed-by": "bench.steersman.io"}
PROBE_PAUSE = 0.002
Object = dict[str, Any]


def log(message: str) -> None:
    print(f"[bench/programming {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr,
          flush=True)


@dataclass
class Measured:
    """A Service whose endpoints listen: its ClusterIP, addresses and spare address."""

    index: int
    cluster_ip: str = ""
    addresses: list[str] = field(default_factory=list)
    spare: str = ""


class Addresses:
    """``127.42.x.y`` per (service, endpoint), from a random third-octet base."""

    def __init__(self, *, services: int, endpoints: int) -> None:
        self.endpoints = endpoints
        self.total = services * endpoints
        blocks = (self.total + services) // 250 + 1
        self.base = random.randrange(60, 255 - blocks)

    def of(self, service: int, endpoint: int) -> str:
        return self._ip(service * self.endpoints + endpoint)

    def spare(self, service: int) -> str:
        return self._ip(self.total + service)

    def _ip(self, index: int) -> str:
        return f"127.42.{self.base + index // 250}.{1 + index % 250}"


async def answer_with_address(reader: asyncio.StreamReader,
                              writer: asyncio.StreamWriter) -> None:
    writer.write(writer.get_extra_info("sockname")[0].encode())
    with contextlib.suppress(OSError):
        await writer.drain()
    writer.close()


async def listen_all(addresses: list[str]) -> tuple[int, list[asyncio.Server]]:
    """One listener per address on one port that is free on all of them."""
    for _ in range(10):
        port, servers = random.randrange(20000, 40000), []
        try:
            for address in addresses:
                servers.append(await asyncio.start_server(answer_with_address, address, port))
            return port, servers
        except OSError:
            for server in servers:
                server.close()
    raise RuntimeError("no port free on every endpoint address")


async def probe(cluster_ip: str) -> str:
    """The address of the endpoint a connection to ``cluster_ip:80`` reached ('' if none)."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(cluster_ip, 80), 2)
    except (OSError, TimeoutError):
        return ""
    try:
        return (await asyncio.wait_for(reader.read(64), 2)).decode()
    except (OSError, TimeoutError):
        return ""
    finally:
        writer.close()


async def until_reached(cluster_ip: str, address: str) -> float:
    """When a connection first reached ``address``."""
    while True:
        if await probe(cluster_ip) == address:
            return time.monotonic()
        await asyncio.sleep(PROBE_PAUSE)


async def until_missed(cluster_ip: str, address: str, streak: int) -> float:
    """Start of the run of ``streak`` connections in a row that missed ``address``."""
    missed, since = 0, 0.0
    while missed < streak:
        started = time.monotonic()
        if await probe(cluster_ip) == address:
            missed = 0
        else:
            since = since if missed else started
            missed += 1
        await asyncio.sleep(PROBE_PAUSE)
    return since


def service(index: int, port: int) -> Object:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"s-{index:04d}"},
            "spec": {"ports": [{"name": "http", "port": 80, "targetPort": port}]}}


def endpoint_slice(index: int, port: int, addresses: list[str]) -> Object:
    name = f"s-{index:04d}"
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": f"{name}-bench",
                         "labels": {SERVICE_NAME_LABEL: name, **MANAGED_BY}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [a], "conditions": {"ready": True}} for a in addresses],
            "ports": [{"name": "http", "port": port, "protocol": "TCP"}]}


class Programming:
    """The cluster side: Services and slices written, changes timed."""

    def __init__(self, client: Client, *, addresses: Addresses, port: int) -> None:
        self.client = client
        self.addresses = addresses
        self.port = port

    async def create(self, index: int) -> str:
        """Service ``index`` and its slice; its ClusterIP."""
        created = await self.client.create(SERVICES, service(index, self.port),
                                           namespace=NAMESPACE)
        ips = [self.addresses.of(index, e) for e in range(self.addresses.endpoints)]
        await self.client.create(ENDPOINTSLICES, endpoint_slice(index, self.port, ips),
                                 namespace=NAMESPACE)
        return str(created["spec"]["clusterIP"])

    async def create_many(self, indices: range, *, in_flight: int = 16) -> list[str]:
        gate = asyncio.Semaphore(in_flight)

        async def one(index: int) -> str:
            async with gate:
                return await self.create(index)

        return list(await asyncio.gather(*(one(i) for i in indices)))

    async def change(self, target: Measured, *, add: bool) -> float:
        """One slice update on ``target``: seconds until the proxy follows it."""
        ips = [*target.addresses, target.spare] if add else target.addresses
        body = endpoint_slice(target.index, self.port, ips)
        current = await self.client.get(ENDPOINTSLICES, body["metadata"]["name"],
                                        namespace=NAMESPACE)
        body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        sent = time.monotonic()
        await self.client.update(ENDPOINTSLICES, body, namespace=NAMESPACE)
        if add:
            return await until_reached(target.cluster_ip, target.spare) - sent
        streak = 2 * len(target.addresses)
        return max(0.0, await until_missed(target.cluster_ip, target.spare, streak) - sent)

    async def changes(self, measured: list[Measured], count: int) -> list[float]:
        """``count`` changes: add then remove the spare endpoint, Service after Service."""
        latencies = []
        for number in range(count):
            target = measured[(number // 2) % len(measured)]
            latencies.append(await self.change(target, add=number % 2 == 0))
        return latencies

    async def delete_namespace(self, timeout: float = 120) -> None:
        await self.client.delete(NAMESPACES, NAMESPACE)
        deadline = time.monotonic() + timeout
        while (await self.client.list(SERVICES, namespace=NAMESPACE, limit=1))["items"]:
            if time.monotonic() > deadline:
                log(f"namespace {NAMESPACE} still terminating after {timeout} s")
                return
            await asyncio.sleep(0.5)


def figures(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {"p50_ms": round(statistics.median(ordered) * 1000, 1),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
            "max_ms": round(ordered[-1] * 1000, 1)}


async def probe_cycle(measured: Measured, endpoints: int) -> float:
    """Seconds for one round-robin cycle of connections (the measurement's resolution)."""
    started = time.monotonic()
    for _ in range(endpoints):
        await probe(measured.cluster_ip)
        await asyncio.sleep(PROBE_PAUSE)
    return time.monotonic() - started


async def timed(label: str, work: Awaitable[Any]) -> Any:
    started = time.monotonic()
    result = await work
    log(f"{label}: {time.monotonic() - started:.1f} s")
    return result


async def run(kubeconfig: Path, *, services: int = 1000, endpoints: int = 10,
              measured_count: int = 25, changes: int = 50,
              baseline_changes: int = 20) -> dict[str, float]:
    addresses = Addresses(services=services, endpoints=endpoints)
    measured = [Measured(i, addresses=[addresses.of(i, e) for e in range(endpoints)],
                         spare=addresses.spare(i)) for i in range(measured_count)]
    listening = [a for m in measured for a in (*m.addresses, m.spare)]
    port, servers = await listen_all(listening)
    try:
        async with Client(load_kubeconfig(kubeconfig), qps=1e6, burst=1_000_000) as client:
            bench = Programming(client, addresses=addresses, port=port)
            await client.create(NAMESPACES, {"metadata": {"name": NAMESPACE}})
            try:
                return await measure(bench, measured, services=services, changes=changes,
                                     baseline_changes=baseline_changes)
            finally:
                await timed("namespace deleted", bench.delete_namespace())
    finally:
        for server in servers:
            server.close()


async def measure(bench: Programming, measured: list[Measured], *, services: int,
                  changes: int, baseline_changes: int) -> dict[str, float]:
    ips = await timed(f"{len(measured)} measured Services",
                      bench.create_many(range(len(measured))))
    for target, ip in zip(measured, ips, strict=True):
        target.cluster_ip = ip
    for target in measured:
        await wait_for(functools.partial(until_any, target), f"{target.cluster_ip} serving")
    cycle = await probe_cycle(measured[0], bench.addresses.endpoints + 1)
    small = await timed(f"{baseline_changes} changes at {len(measured)} Services",
                        bench.changes(measured, baseline_changes))
    rest = range(len(measured), services)
    last = (await timed(f"{len(rest)} more Services", bench.create_many(rest)))[-1]
    await wait_for(functools.partial(accepts, last), f"{last} listening")
    full = await timed(f"{changes} changes at {services} Services",
                       bench.changes(measured, changes))
    return {"services": services, "endpoints_per_service": bench.addresses.endpoints,
            "changes": changes, **figures(full), "target_p99_ms": 1000,
            "probe_cycle_ms": round(cycle * 1000, 1),
            **{f"baseline_{k}": v for k, v in figures(small).items()},
            "baseline_services": len(measured),
            "p50_ratio": round(statistics.median(full) / statistics.median(small), 1)}


async def until_any(target: Measured) -> bool:
    return await probe(target.cluster_ip) in target.addresses


async def accepts(cluster_ip: str) -> bool:
    try:
        _, writer = await asyncio.open_connection(cluster_ip, 80)
    except OSError:
        return False
    writer.close()
    return True


async def wait_for(check: Callable[[], Awaitable[bool]], what: str,
                   timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"no {what} after {timeout} s")
        await asyncio.sleep(0.05)
