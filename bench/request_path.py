"""Request-path benchmark: the API server's CPU per small HTTPS request and per watch event sent.

What a heavily loaded server spends around its handlers — TLS, HTTP parsing, routing,
authentication, building the response, and writing watch events — measured on a real
``steersman server`` (a subprocess, as ``bench/api.py`` starts it, on CPU 0 when there are
two or more CPUs; the clients on the others) driven over HTTPS with keep-alive
connections, authenticated by the admin client certificate as hollow nodes are:

* ``request`` — ``CLIENTS`` workers, each alternating a ``GET`` of one pod and a
  conditional ``PUT`` of its own Lease with ``spec.renewTime`` moved on (a node's
  heartbeat); server CPU µs per request, whole process and main thread (``/proc``).
* ``watch`` — ``WATCHERS`` watch streams (a second process) follow the pods of
  ``bench-watch``; the workers ``PUT`` pods there, then the same number in ``bench-quiet``,
  which nobody watches. ``fanout_us_per_event_per_watcher`` is the difference of the
  server's CPU per write between the two, divided by the watchers.

The machine is shared and noisy, so each round also times the same request mix against a
trivial aiohttp HTTPS echo server (``bench/api.py``'s, on the same CPU): the least any
request through aiohttp and TLS costs here. Rounds interleave the three; figures are
medians over rounds. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import multiprocessing.connection
import os
import ssl
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from api import (
    SERVER_ARGS,
    SERVER_CPU,
    Endpoint,
    cpu_seconds,
    expect,
    pod_body,
    start_echo,
    start_server,
)
from processes import Child, pin
from steersman.kubelet.node_status import build_lease

CLIENTS = 16
WATCHERS = 5
LEASES = "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"
PODS = "/api/v1/namespaces/{namespace}/pods"
Object = dict[str, Any]
Worker = Callable[[aiohttp.ClientSession, int, int], Awaitable[None]]


def client_ssl(data_dir: Path) -> ssl.SSLContext:
    pki = data_dir / "pki"
    context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    context.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
    return context


def session_for(url: str, context: ssl.SSLContext) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=CLIENTS, ssl=context, keepalive_timeout=300)
    return aiohttp.ClientSession(url, connector=connector, headers={
        "Content-Type": "application/json", "Accept": "application/json",
        "User-Agent": "bench-request-path/1.0"}, timeout=aiohttp.ClientTimeout(total=60))


class Writes:
    """Each worker's objects at the resourceVersion of its last write."""

    def __init__(self, session: aiohttp.ClientSession, namespace: str) -> None:
        self.session = session
        self.namespace = namespace
        self.leases: list[Object] = []
        self.pods: list[Object] = []

    async def create(self) -> None:
        for index in range(CLIENTS):
            lease = build_lease(f"node-{index}", node_uid="", duration_seconds=40,
                                now_seconds=time.time())
            lease["metadata"]["namespace"] = self.namespace
            self.leases.append(await self._post(LEASES, lease))
            pod = orjson.loads(pod_body(f"pod-{index}", self.namespace))
            self.pods.append(await self._post(PODS, pod))

    async def _post(self, path: str, obj: Object) -> Object:
        async with self.session.post(path.format(namespace=self.namespace),
                                     data=orjson.dumps(obj)) as response:
            created: Object = orjson.loads(await expect(response, 201))
            return created

    async def get_and_renew(self, session: aiohttp.ClientSession, worker: int,
                            index: int) -> None:
        """One request of the mix: even ones GET a pod, odd ones renew the worker's Lease."""
        pods = PODS.format(namespace=self.namespace)
        if index % 2 == 0:
            async with session.get(f"{pods}/pod-{worker}") as response:
                await expect(response, 200)
            return
        lease = self.leases[worker]
        lease["spec"]["renewTime"] = lease["spec"]["renewTime"][:-7] + f"{index % 10**6:06d}Z"
        path = LEASES.format(namespace=self.namespace) + f"/node-{worker}"
        async with session.put(path, data=orjson.dumps(lease)) as response:
            self.leases[worker] = orjson.loads(await expect(response, 200))

    async def touch_pod(self, session: aiohttp.ClientSession, worker: int, index: int) -> None:
        """PUT the worker's pod with one annotation changed: one MODIFIED event."""
        pod = self.pods[worker]
        pod["metadata"]["annotations"]["bench/beat"] = str(index)
        path = PODS.format(namespace=self.namespace) + f"/pod-{worker}"
        async with session.put(path, data=orjson.dumps(pod)) as response:
            self.pods[worker] = orjson.loads(await expect(response, 200))


async def drive(session: aiohttp.ClientSession, work: Worker, count: int) -> None:
    """``count`` requests from ``CLIENTS`` workers, each waiting for its last answer."""
    per_worker = count // CLIENTS

    async def worker(number: int) -> None:
        for index in range(per_worker):
            await work(session, number, index)

    await asyncio.gather(*(worker(number) for number in range(CLIENTS)))


async def timed(pid: int, session: aiohttp.ClientSession, work: Worker,
                count: int) -> tuple[float, float]:
    """µs of the server's CPU (process, main thread) per request over ``count`` requests."""
    before = cpu_seconds(pid)
    await drive(session, work, count)
    after = cpu_seconds(pid)
    done = count // CLIENTS * CLIENTS
    return ((after[0] - before[0]) / done * 1e6, (after[1] - before[1]) / done * 1e6)


async def echo_mix(session: aiohttp.ClientSession, worker: int, index: int) -> None:
    """The same shape against the echo server: a GET, then a PUT of a Lease-sized body."""
    if index % 2 == 0:
        async with session.get(f"/api/v1/namespaces/bench/pods/pod-{worker}") as response:
            await expect(response, 200)
        return
    lease = build_lease(f"node-{worker}", node_uid="", duration_seconds=40,
                        now_seconds=time.time())
    async with session.post("/apis/coordination.k8s.io/v1/leases",
                            data=orjson.dumps(lease)) as response:
        await expect(response, 201)


# ---- watchers -------------------------------------------------------------------------------

def watch_child(url: str, data_dir: str, path: str,
                conn: multiprocessing.connection.Connection, cpus: set[int]) -> None:
    """The watcher process: opens the streams, says "ready", counts events until told."""
    pin(0, cpus)
    conn.send(asyncio.run(_watch(url, Path(data_dir), path, conn)))
    conn.close()


async def _watch(url: str, data_dir: Path, path: str,
                 conn: multiprocessing.connection.Connection) -> int:
    events = [0]

    async def read(response: aiohttp.ClientResponse) -> None:
        async for _line in response.content:
            events[0] += 1

    async with session_for(url, client_ssl(data_dir)) as session:
        responses = await asyncio.gather(*(session.get(path) for _ in range(WATCHERS)))
        readers = [asyncio.create_task(read(response)) for response in responses]
        conn.send("ready")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_reader(conn.fileno(), stop.set)
        await stop.wait()
        loop.remove_reader(conn.fileno())
        for task in readers:
            task.cancel()
        for response in responses:
            response.close()
    return events[0]


# ---- the run --------------------------------------------------------------------------------

async def measure(endpoint: Endpoint, echo_url: str, server_pid: int, echo_pid: int,
                  data_dir: Path, args: argparse.Namespace,
                  watchers: multiprocessing.connection.Connection) -> dict[str, Any]:
    context = client_ssl(data_dir)
    rounds: dict[str, list[tuple[float, float]]] = {
        "request": [], "echo": [], "watched": [], "quiet": []}
    async with session_for(endpoint.url, context) as session, \
            session_for(echo_url, context) as echo:
        mixes = {name: Writes(session, name) for name in ("bench", "bench-watch", "bench-quiet")}
        for name in mixes:
            async with session.post("/api/v1/namespaces", data=orjson.dumps(
                    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})) as r:
                await expect(r, 201)
            await mixes[name].create()
        if not watchers.poll(60) or watchers.recv() != "ready":
            raise RuntimeError("the watcher process did not open its streams")
        await drive(session, mixes["bench"].get_and_renew, args.requests)  # warm-up
        await drive(echo, echo_mix, args.requests)
        for _ in range(args.rounds):
            rounds["echo"].append(await timed(echo_pid, echo, echo_mix, args.requests))
            rounds["request"].append(await timed(
                server_pid, session, mixes["bench"].get_and_renew, args.requests))
            rounds["watched"].append(await timed(
                server_pid, session, mixes["bench-watch"].touch_pod, args.writes))
            rounds["quiet"].append(await timed(
                server_pid, session, mixes["bench-quiet"].touch_pod, args.writes))
    return summary(rounds, args)


def summary(rounds: dict[str, list[tuple[float, float]]],
            args: argparse.Namespace) -> dict[str, Any]:
    def median(name: str, which: int) -> float:
        return statistics.median(r[which] for r in rounds[name])

    request, echo = median("request", 0), median("echo", 0)
    fanout = [(w[1] - q[1]) / WATCHERS for w, q in zip(rounds["watched"], rounds["quiet"],
                                                       strict=True)]
    return {"bench": "request_path", "rounds": args.rounds, "requests_per_round": args.requests,
            "writes_per_round": args.writes, "clients": CLIENTS, "watchers": WATCHERS,
            "server_us_per_request": round(request, 1),
            "server_main_us_per_request": round(median("request", 1), 1),
            "echo_us_per_request": round(echo, 1),
            "request_over_echo": round(request / echo, 2),
            "pod_put_watched_main_us": round(median("watched", 1), 1),
            "pod_put_quiet_main_us": round(median("quiet", 1), 1),
            "fanout_us_per_event_per_watcher": round(statistics.median(fanout), 1)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    cpus = os.sched_getaffinity(0)
    pinned = len(cpus) >= 2
    client_cpus = cpus - {SERVER_CPU} if pinned else cpus
    pin(0, client_cpus)
    with tempfile.TemporaryDirectory(prefix="steersman-request-path-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        server, endpoint = start_server(data_dir, [], SERVER_ARGS.split())
        echo: Child | None = None
        spawn = multiprocessing.get_context("spawn")
        parent, child = spawn.Pipe()
        watcher = spawn.Process(target=watch_child, args=(
            endpoint.url, str(data_dir), PODS.format(namespace="bench-watch") + "?watch=1",
            child, client_cpus))
        try:
            if pinned:
                pin(server.pid, {SERVER_CPU})
            echo, echo_url = start_echo(data_dir, pinned)
            watcher.start()
            result = asyncio.run(measure(endpoint, echo_url, server.pid, echo.pid, data_dir,
                                         args, parent))
            parent.send("stop")
            events = parent.recv() if parent.poll(30) else -1
            # Fewer than expected: a watcher fell behind and was cut off (the watcher
            # process starved of CPU), and the fan-out figure counts fewer watchers.
            result["watch_events_received"] = events
            result["watch_events_expected"] = WATCHERS * (
                CLIENTS + args.rounds * (args.writes // CLIENTS * CLIENTS))
        finally:
            watcher.join(timeout=10)
            if watcher.is_alive():
                watcher.kill()
            if echo is not None:
                echo.stop()
            server.stop()
    result["pinned"] = pinned
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=3200,
                        help="GET + Lease PUT requests per round")
    parser.add_argument("--writes", type=int, default=1600, help="pod PUTs per watch round")
    print(orjson.dumps(run(parser.parse_args())).decode(), flush=True)


if __name__ == "__main__":
    main()
