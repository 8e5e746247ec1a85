"""API server benchmark: pod writes, reads, lists and watch lag, read against same-run baselines.

Starts its own ``steersman server`` (a subprocess on a temporary data dir, port 0, the
default durable SQLite store, the controllers but the garbage collector, no scheduler: see
``SERVER_ARGS``) and drives it over HTTPS with keep-alive aiohttp clients in
this process (and, for the watch phase, 100 watch streams in a second process). The machine
is shared and noisy, so every figure comes with baselines measured in the same run:

* raw SQLite inserts into a kine-shaped table (WAL, ``synchronous=FULL``), one row per
  transaction and 100 rows per transaction, in the same directory as the server's database;
* a trivial aiohttp HTTPS echo server (the server's own certificate, same client, same body),
  the ceiling for any request through aiohttp + TLS on this machine.

Phases: creates (16 concurrent clients), a fill of the list namespace, gets, full and
paginated (``limit=500``) lists, then watch delivery lag (100 watchers, pods created at a
steady rate; lag = receive time minus completion time of the create, on the shared monotonic
clock). With two or more CPUs the server (and the echo server) run on CPU 0, clients on the
others. Progress goes to stderr; stdout gets exactly one JSON line. ``--quick`` is a ~30 s
smoke run. ``--py-spy BIN --profile-dir DIR`` records the server's stacks (raw format)
during the create and watch phases.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import multiprocessing.connection
import os
import random
import signal
import sqlite3
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from processes import Child, pin

TARGETS = {"create_rps": 2000.0, "create_p99_ms": 50.0, "watch_lag_p99_ms": 100.0}
CLIENTS = 16
SERVER_CPU = 0


@dataclass(frozen=True)
class Plan:
    """How long each phase runs; ``quick`` shrinks everything for a smoke run."""

    sqlite_s: float
    echo_s: float
    create_s: float
    get_s: float
    list_pods: int
    list_rounds: int
    watchers: int
    watch_pods: int
    watch_rate: float

    @classmethod
    def for_run(cls, *, quick: bool) -> Plan:
        if quick:
            return cls(1.0, 2.0, 4.0, 3.0, 2_000, 2, 100, 300, 100.0)
        return cls(2.0, 6.0, 15.0, 8.0, 10_000, 5, 100, 1_500, 150.0)


def log(message: str) -> None:
    print(f"[bench/api {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def latency_summary(count: int, seconds: float, latencies: list[float]) -> dict[str, Any]:
    return {"count": count, "seconds": round(seconds, 2), "rps": round(count / seconds, 1),
            "p50_ms": round(percentile(latencies, 0.50) * 1e3, 2),
            "p99_ms": round(percentile(latencies, 0.99) * 1e3, 2)}


# ---- the pod --------------------------------------------------------------------------------

def pod_body(name: str, namespace: str) -> bytes:
    """A realistic ~2 KB Deployment-made Pod (labels, env, probes, resources, volumes)."""
    return orjson.dumps({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": name, "namespace": namespace,
            "labels": {"app": "web", "tier": "frontend", "pod-template-hash": "5d8f7c9b4d",
                       "app.kubernetes.io/name": "web", "app.kubernetes.io/version": "1.27.3"},
            "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "9113",
                            "kubectl.kubernetes.io/default-container": "web"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                 "name": "web-5d8f7c9b4d", "controller": True,
                                 "blockOwnerDeletion": True,
                                 "uid": "6f1c2a4e-8a52-4a43-9f0e-3b6f1d7c2e11"}]},
        "spec": {
            "containers": [{
                "name": "web", "image": "registry.example.com/team/web:1.27.3",
                "args": ["--listen=:8080", "--log-level=info", "--cache-size=256"],
                "ports": [{"name": "http", "containerPort": 8080},
                          {"name": "metrics", "containerPort": 9113}],
                "env": [{"name": "POD_NAME",
                         "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                        {"name": "POD_IP",
                         "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                        {"name": "GOMAXPROCS", "value": "2"},
                        {"name": "UPSTREAM_URL", "value": "http://api.default.svc:8080/v1"}],
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                              "limits": {"cpu": "500m", "memory": "256Mi"}},
                "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080},
                                   "periodSeconds": 5, "failureThreshold": 3},
                "livenessProbe": {"httpGet": {"path": "/livez", "port": 8080},
                                  "initialDelaySeconds": 10, "periodSeconds": 10},
                "volumeMounts": [{"name": "config", "mountPath": "/etc/web", "readOnly": True},
                                 {"name": "cache", "mountPath": "/var/cache/web"}],
                "securityContext": {"runAsNonRoot": True, "readOnlyRootFilesystem": True,
                                    "allowPrivilegeEscalation": False},
            }],
            "volumes": [{"name": "config", "configMap": {"name": "web-config"}},
                        {"name": "cache", "emptyDir": {"sizeLimit": "1Gi"}}],
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                             "effect": "NoExecute", "tolerationSeconds": 300}],
            "serviceAccountName": "default", "terminationGracePeriodSeconds": 30,
        },
    })


# ---- baselines ------------------------------------------------------------------------------

_KINE_SCHEMA = (
    "CREATE TABLE log (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, "
    "created INTEGER, deleted INTEGER, create_revision INTEGER, prev_revision INTEGER, "
    "value BLOB, old_value BLOB)",
    "CREATE INDEX log_name_id ON log (name, id)",
)


def sqlite_baseline(directory: Path, seconds: float) -> dict[str, float]:
    """Raw inserts of pod-sized rows: commits/s one row each, rows/s at 100 rows a commit."""
    path = directory / "baseline.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    for statement in _KINE_SCHEMA:
        conn.execute(statement)
    value = pod_body("baseline-000000", "bench")
    insert = "INSERT INTO log VALUES (NULL, ?, 1, 0, 0, 0, ?, NULL)"
    serial = iter(range(10**9))
    try:
        single = _insert_rate(conn, insert, value, serial, 1, seconds)
        batched = _insert_rate(conn, insert, value, serial, 100, seconds)
    finally:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    return {"sqlite_full_commits_per_s": round(single, 1),
            "sqlite_full_rows_per_s_100_per_commit": round(batched, 1)}


def _insert_rate(conn: sqlite3.Connection, insert: str, value: bytes, serial: Iterator[int],
                 per_commit: int, seconds: float) -> float:
    rows, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(insert, ((f"/registry/pods/bench/p{next(serial)}", value)
                                  for _ in range(per_commit)))
        conn.execute("COMMIT")
        rows += per_commit
    return rows / (time.perf_counter() - start)


def serve_echo(cert: str, key: str, port_file: str) -> None:
    """The echo server child: POST returns its body, GET a fixed pod; TLS, no access log."""
    pod = pod_body("echo-000000", "bench")

    async def echo(request: web.Request) -> web.Response:
        body = await request.read() if request.method == "POST" else pod
        return web.Response(body=body, status=201 if request.method == "POST" else 200,
                            content_type="application/json")

    async def run() -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", echo)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        port = runner.addresses[0][1]
        await asyncio.to_thread(Path(port_file).write_text, str(port))
        await asyncio.Event().wait()

    asyncio.run(run())


# ---- the server under test ------------------------------------------------------------------

@dataclass(frozen=True)
class Endpoint:
    url: str
    ca_file: str
    token: str

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json",
                "Accept": "application/json"}


# The bench's pods name a ReplicaSet that does not exist and no node can run them: the
# garbage collector would delete them while the gets and lists read them, and the scheduler
# would write a status per pod (a second write the create figures should not include).
# The API server and its controllers; cluster DNS and the ingress controller are add-ons
# (CoreDNS and ingress-nginx run apart from kube-apiserver) with their own benchmarks.
SERVER_ARGS = "--controllers=*,-garbagecollector --no-scheduler --no-dns --no-ingress"


def start_server(data_dir: Path, wrapper: list[str],
                 server_args: list[str]) -> tuple[Child, Endpoint]:
    argv = [*wrapper, sys.executable, "-m", "steersman", "server", "--data-dir", str(data_dir),
            "--port", "0", *server_args]
    server = Child(argv, data_dir.parent / "server.log")
    deadline = time.monotonic() + 60
    kubeconfig = data_dir / "admin.kubeconfig"
    while time.monotonic() < deadline:
        if not server.running():
            raise RuntimeError(f"steersman server exited early:\n{server.log_tail()}")
        if kubeconfig.exists() and "ready at" in server.log_tail():
            url = _server_url(kubeconfig.read_text())
            token = (data_dir / "admin.token").read_text().strip()
            return server, Endpoint(url, str(data_dir / "pki" / "ca.crt"), token)
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"steersman server not ready within 60 s:\n{server.log_tail()}")


def _server_url(kubeconfig: str) -> str:
    for line in kubeconfig.splitlines():
        if line.strip().startswith("server:"):
            return line.split("server:", 1)[1].strip().strip("'\"")
    raise RuntimeError("no server URL in the admin kubeconfig")


def cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU time (user + system) of the whole process and of its main thread."""
    def read(path: str) -> float:
        try:
            fields = Path(path).read_text().rpartition(")")[2].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    return read(f"/proc/{pid}/stat"), read(f"/proc/{pid}/task/{pid}/stat")


@contextlib.contextmanager
def cpu_usage(pid: int, into: dict[str, Any], operations: Callable[[], int]) -> Iterator[None]:
    """Adds the server's CPU use during the block to ``into``: cores busy, µs per operation."""
    before, main_before, began = *cpu_seconds(pid), time.perf_counter()
    yield
    after, main_after = cpu_seconds(pid)
    wall, count = time.perf_counter() - began, max(operations(), 1)
    into.update({"server_cpu_cores": round((after - before) / wall, 2),
                 "server_main_thread_cores": round((main_after - main_before) / wall, 2),
                 "server_cpu_us_per_op": round((after - before) / count * 1e6, 1)})


def rss_mb(pid: int) -> dict[str, float]:
    fields: dict[str, float] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = round(int(rest.split()[0]) / 1024, 1)
    return {"server_rss_mb": fields.get("VmRSS", float("nan")),
            "server_peak_rss_mb": fields.get("VmHWM", float("nan"))}


# ---- client load ----------------------------------------------------------------------------

def session_for(endpoint: Endpoint, connections: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=connections, ssl=endpoint.ssl_context(),
                                     keepalive_timeout=300)
    return aiohttp.ClientSession(endpoint.url, connector=connector, headers=endpoint.headers(),
                                 timeout=aiohttp.ClientTimeout(total=120))


Request = Callable[[aiohttp.ClientSession, int], Awaitable[None]]


async def closed_loop(session: aiohttp.ClientSession, request: Request, *, clients: int,
                      seconds: float = 0.0, total: int = 0) -> tuple[int, float, list[float]]:
    """``clients`` workers issue requests back to back for ``seconds`` or ``total`` requests."""
    latencies: list[float] = []
    serial = iter(range(10**9))
    start = time.perf_counter()
    deadline = start + seconds if seconds else float("inf")

    async def worker() -> None:
        while time.perf_counter() < deadline:
            index = next(serial)
            if total and index >= total:
                return
            began = time.perf_counter()
            await request(session, index)
            latencies.append(time.perf_counter() - began)

    await asyncio.gather(*(worker() for _ in range(clients)))
    return len(latencies), time.perf_counter() - start, latencies


async def expect(response: aiohttp.ClientResponse, status: int) -> bytes:
    body = await response.read()
    if response.status != status:
        raise RuntimeError(f"{response.method} {response.url}: {response.status} {body[:300]!r}")
    return body


def pod_creator(namespace: str, prefix: str) -> Request:
    path = f"/api/v1/namespaces/{namespace}/pods"

    async def create(session: aiohttp.ClientSession, index: int) -> None:
        async with session.post(path, data=pod_body(f"{prefix}-{index:06d}", namespace)) as r:
            await expect(r, 201)

    return create


async def echo_rate(endpoint: Endpoint, seconds: float) -> dict[str, float]:
    body = pod_body("echo-000000", "bench")
    path = "/api/v1/namespaces/bench/pods"

    async def post(session: aiohttp.ClientSession, index: int) -> None:
        async with session.post(path, data=body) as response:
            await expect(response, 201)

    async def get(session: aiohttp.ClientSession, index: int) -> None:
        async with session.get(f"{path}/echo-000000") as response:
            await expect(response, 200)

    async with session_for(endpoint, CLIENTS) as session:
        await closed_loop(session, post, clients=CLIENTS, total=200)
        posts = latency_summary(*await closed_loop(session, post, clients=CLIENTS,
                                                   seconds=seconds / 2))
        gets = latency_summary(*await closed_loop(session, get, clients=CLIENTS,
                                                  seconds=seconds / 2))
    return {"echo_post_rps": posts["rps"], "echo_post_p50_ms": posts["p50_ms"],
            "echo_post_p99_ms": posts["p99_ms"], "echo_get_rps": gets["rps"],
            "echo_get_p99_ms": gets["p99_ms"]}


async def make_namespaces(session: aiohttp.ClientSession, names: list[str]) -> None:
    for name in names:
        body = orjson.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        async with session.post("/api/v1/namespaces", data=body) as response:
            await expect(response, 201)


async def write_and_read(endpoint: Endpoint, plan: Plan, profile: Profiler) -> dict[str, Any]:
    """Creates, the list fill, gets and lists; one keep-alive session of 16 connections."""
    results: dict[str, Any] = {}
    async with session_for(endpoint, CLIENTS) as session:
        await make_namespaces(session, ["bench", "bench-list", "bench-watch"])
        await closed_loop(session, pod_creator("bench", "warm"), clients=CLIENTS, total=300)
        log(f"creates: {CLIENTS} clients for {plan.create_s:.0f} s")
        usage: dict[str, Any] = {}
        latencies: list[float] = []
        with profile.recording("create", plan.create_s), cpu_usage(
                profile.pid, usage, lambda: len(latencies)):
            count, took, latencies = await closed_loop(
                session, pod_creator("bench", "pod"), clients=CLIENTS, seconds=plan.create_s)
        results["create"] = {**latency_summary(count, took, latencies), **usage}
        log(f"creates: {results['create']}")
        log(f"filling bench-list with {plan.list_pods} pods")
        await closed_loop(session, pod_creator("bench-list", "pod"), clients=CLIENTS,
                          total=plan.list_pods)
        usage = {}
        with cpu_usage(profile.pid, usage, lambda: int(results["get"]["count"])):
            results["get"] = await get_rate(session, plan)
        results["get"].update(usage)
        log(f"gets: {results['get']}")
        results["list"] = await list_times(session, plan)
        log(f"lists: {results['list']}")
    return results


async def get_rate(session: aiohttp.ClientSession, plan: Plan) -> dict[str, Any]:
    names = [f"pod-{i:06d}" for i in range(plan.list_pods)]
    rng = random.Random(7)

    async def get(session: aiohttp.ClientSession, index: int) -> None:
        async with session.get(f"/api/v1/namespaces/bench-list/pods/{rng.choice(names)}") as r:
            await expect(r, 200)

    count, took, latencies = await closed_loop(session, get, clients=CLIENTS, seconds=plan.get_s)
    return latency_summary(count, took, latencies)


async def list_times(session: aiohttp.ClientSession, plan: Plan) -> dict[str, float]:
    path = "/api/v1/namespaces/bench-list/pods"
    full: list[float] = []
    paged: list[float] = []
    size = pages = 0
    for _ in range(plan.list_rounds):
        began = time.perf_counter()
        async with session.get(path) as response:
            body = await expect(response, 200)
        full.append(time.perf_counter() - began)
        size = len(body)
        began, token, pages, items = time.perf_counter(), "", 0, 0
        while True:
            params = {"limit": "500", **({"continue": token} if token else {})}
            async with session.get(path, params=params) as response:
                page = orjson.loads(await expect(response, 200))
            pages, items = pages + 1, items + len(page["items"])
            token = page["metadata"].get("continue", "")
            if not token:
                break
        paged.append(time.perf_counter() - began)
        if items != plan.list_pods:
            raise RuntimeError(f"paginated list returned {items} pods, not {plan.list_pods}")
    return {"pods": plan.list_pods, "full_ms": round(statistics.median(full) * 1e3, 1),
            "full_mb": round(size / 2**20, 1),
            "paged_500_ms": round(statistics.median(paged) * 1e3, 1), "pages": pages}


# ---- watch lag ------------------------------------------------------------------------------

def watch_child(endpoint: Endpoint, path: str, watchers: int, expected: int,
                conn: multiprocessing.connection.Connection, cpus: set[int]) -> None:
    """The watcher process: opens the streams, says "ready", records (name, receive time)."""
    pin(0, cpus)
    received = asyncio.run(_watch_streams(endpoint, path, watchers, expected, conn))
    conn.send(received)
    conn.close()


async def _watch_streams(endpoint: Endpoint, path: str, watchers: int, expected: int,
                         conn: multiprocessing.connection.Connection) -> list[list[Any]]:
    received: list[list[Any]] = [[] for _ in range(watchers)]
    async with session_for(endpoint, watchers) as session:
        responses = await asyncio.gather(*(session.get(path) for _ in range(watchers)))
        for response in responses:
            if response.status != 200:
                raise RuntimeError(f"watch: {response.status} {await response.text()}")
        conn.send("ready")
        readers = [asyncio.create_task(_read_events(r, expected, out))
                   for r, out in zip(responses, received, strict=True)]
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_reader(conn.fileno(), stop.set)  # the parent stops waiting
        stopped = asyncio.create_task(stop.wait())
        waiting: list[asyncio.Future[Any]] = [asyncio.gather(*readers), stopped]
        await asyncio.wait(waiting,
                           return_when=asyncio.FIRST_COMPLETED)
        loop.remove_reader(conn.fileno())
        for task in [*readers, stopped]:
            task.cancel()
        for response in responses:
            response.close()
    return received


async def _read_events(response: aiohttp.ClientResponse, expected: int,
                       out: list[Any]) -> None:
    async for line in response.content:
        now = time.monotonic()
        event = orjson.loads(line)
        if event["type"] == "ADDED":
            out.append((event["object"]["metadata"]["name"], now))
            if len(out) >= expected:
                return


async def paced_creates(endpoint: Endpoint, plan: Plan) -> dict[str, tuple[float, float]]:
    """Create ``watch_pods`` pods at ``watch_rate``/s; name → (request start, completion)."""
    done: dict[str, tuple[float, float]] = {}
    create = pod_creator("bench-watch", "w")

    async def one(session: aiohttp.ClientSession, index: int) -> None:
        began = time.monotonic()
        await create(session, index)
        done[f"w-{index:06d}"] = (began, time.monotonic())

    async with session_for(endpoint, CLIENTS) as session:
        start = time.monotonic()
        tasks = []
        for index in range(plan.watch_pods):
            await asyncio.sleep(max(0.0, start + index / plan.watch_rate - time.monotonic()))
            tasks.append(asyncio.create_task(one(session, index)))
        await asyncio.gather(*tasks)
    return done


def watch_lag(endpoint: Endpoint, plan: Plan, cpus: set[int],
              profile: Profiler) -> dict[str, Any]:
    path = "/api/v1/namespaces/bench-watch/pods?watch=1&resourceVersion=0"
    parent, child = multiprocessing.get_context("spawn").Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=watch_child, args=(endpoint, path, plan.watchers, plan.watch_pods, child, cpus))
    process.start()
    try:
        if not parent.poll(60) or parent.recv() != "ready":
            raise RuntimeError("the watcher process did not open its streams")
        log(f"watch: {plan.watchers} watchers open; creating {plan.watch_pods} pods at "
            f"{plan.watch_rate:.0f}/s")
        usage: dict[str, Any] = {}
        with profile.recording("watch", plan.watch_pods / plan.watch_rate), cpu_usage(
                profile.pid, usage, lambda: plan.watch_pods):
            created = asyncio.run(paced_creates(endpoint, plan))
            received = _collect(parent, timeout=30)
    finally:
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
    return {**_lag_summary(plan, created, received), **usage}


def _collect(parent: multiprocessing.connection.Connection,
             timeout: float) -> list[list[Any]]:
    """The watcher's results, once every stream saw every pod or ``timeout`` passed."""
    if not parent.poll(timeout):
        with contextlib.suppress(OSError):
            parent.send("stop")
        if not parent.poll(30):
            raise RuntimeError("the watcher process sent no results")
    received: list[list[Any]] = parent.recv()
    return received


def _lag_summary(plan: Plan, created: dict[str, tuple[float, float]],
                 received: list[list[Any]]) -> dict[str, Any]:
    after_ack: list[float] = []
    after_start: list[float] = []
    for events in received:
        for name, when in events:
            began, acked = created[name]
            after_ack.append(when - acked)
            after_start.append(when - began)
    return {"watchers": plan.watchers, "pods": plan.watch_pods, "rate": plan.watch_rate,
            "delivered": len(after_ack), "expected": plan.watchers * plan.watch_pods,
            "lag_p50_ms": round(percentile(after_ack, 0.50) * 1e3, 2),
            "lag_p99_ms": round(percentile(after_ack, 0.99) * 1e3, 2),
            "lag_max_ms": round(max(after_ack, default=float("nan")) * 1e3, 2),
            "lag_from_request_start_p99_ms": round(percentile(after_start, 0.99) * 1e3, 2)}


# ---- profiling ------------------------------------------------------------------------------

class Profiler:
    """Optional py-spy recordings of the server during a phase (raw collapsed stacks)."""

    def __init__(self, py_spy: str, directory: Path | None, pid: int, cpus: set[int]) -> None:
        self._py_spy, self._directory, self.pid, self._cpus = py_spy, directory, pid, cpus

    @contextlib.contextmanager
    def recording(self, phase: str, seconds: float) -> Iterator[None]:
        if not self._py_spy or self._directory is None:
            yield
            return
        out = self._directory / f"{phase}.txt"
        process = subprocess.Popen(
            [self._py_spy, "record", "--pid", str(self.pid), "--rate", "250", "--format",
             "raw", "--nonblocking", "--threads", "--duration", str(max(1, int(seconds))),
             "--output", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pin(process.pid, self._cpus)
        try:
            yield
        finally:
            try:
                process.wait(timeout=seconds + 30)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGINT)
                process.wait(timeout=10)


# ---- the run --------------------------------------------------------------------------------

def ratios(results: dict[str, Any]) -> dict[str, float]:
    base = results["baseline"]
    create, get = results["create"]["rps"], results["get"]["rps"]
    return {"create_vs_echo_post": round(create / base["echo_post_rps"], 3),
            "get_vs_echo_get": round(get / base["echo_get_rps"], 3),
            "create_vs_sqlite_commit": round(create / base["sqlite_full_commits_per_s"], 3),
            "create_p99_vs_echo_p99": round(
                results["create"]["p99_ms"] / base["echo_post_p99_ms"], 2)}


def verdict(results: dict[str, Any]) -> dict[str, bool]:
    return {"create_rps": results["create"]["rps"] >= TARGETS["create_rps"],
            "create_p99_ms": results["create"]["p99_ms"] <= TARGETS["create_p99_ms"],
            "watch_lag_p99_ms": results["watch"]["lag_p99_ms"] <= TARGETS["watch_lag_p99_ms"],
            "watch_delivered_all": results["watch"]["delivered"] == results["watch"]["expected"]}


def run(args: argparse.Namespace) -> dict[str, Any]:
    plan = Plan.for_run(quick=args.quick)
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()
    pinned = len(cpus) >= 2 and not args.no_pin
    client_cpus = cpus - {SERVER_CPU} if pinned else cpus
    if pinned:
        pin(0, client_cpus)
    began = time.monotonic()
    results: dict[str, Any] = {"bench": "api", "quick": args.quick, "cpus": len(cpus),
                               "pinned": pinned, "clients": CLIENTS, "plan": asdict(plan),
                               "server_args": args.server_args}
    with tempfile.TemporaryDirectory(prefix="steersman-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        log("baseline: raw SQLite inserts")
        results["baseline"] = sqlite_baseline(data_dir, plan.sqlite_s)
        server, endpoint = start_server(data_dir, args.server_wrapper.split(),
                                        args.server_args.split())
        try:
            if pinned:
                pin(server.pid, {SERVER_CPU})
            log(f"server pid {server.pid} at {endpoint.url}")
            results["baseline"].update(echo_baseline(data_dir, endpoint, plan, pinned))
            log(f"baselines: {results['baseline']}")
            profile = Profiler(args.py_spy, args.profile_dir, server.pid, client_cpus)
            results.update(asyncio.run(write_and_read(endpoint, plan, profile)))
            results["watch"] = watch_lag(endpoint, plan, client_cpus, profile)
            log(f"watch: {results['watch']}")
            results.update(rss_mb(server.pid))
        finally:
            server.stop()
    results["ratios"] = ratios(results)
    results["targets"] = TARGETS
    results["pass"] = verdict(results)
    results["elapsed_s"] = round(time.monotonic() - began, 1)
    return results


def start_echo(data_dir: Path, pinned: bool) -> tuple[Child, str]:
    """The echo server with the API server's certificate (on the server's CPU when
    ``pinned``), once it listens; and its URL."""
    port_file = data_dir.parent / "echo.port"
    pki = data_dir / "pki"
    echo = Child([sys.executable, __file__, "--serve-echo", str(pki / "server.crt"),
                  str(pki / "server.key"), str(port_file)], data_dir.parent / "echo.log")
    if pinned:
        pin(echo.pid, {SERVER_CPU})
    deadline = time.monotonic() + 30
    while not port_file.exists() or not port_file.read_text():
        if not echo.running() or time.monotonic() > deadline:
            echo.stop()
            raise RuntimeError(f"echo server did not start:\n{echo.log_tail()}")
        time.sleep(0.05)
    return echo, f"https://127.0.0.1:{port_file.read_text()}"


def echo_baseline(data_dir: Path, endpoint: Endpoint, plan: Plan,
                  pinned: bool) -> dict[str, float]:
    echo, url = start_echo(data_dir, pinned)
    try:
        echo_endpoint = Endpoint(url, endpoint.ca_file, endpoint.token)
        return asyncio.run(echo_rate(echo_endpoint, plan.echo_s))
    finally:
        echo.stop()


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="a ~30 s smoke run")
    parser.add_argument("--no-pin", action="store_true", help="do not pin server/clients")
    parser.add_argument("--py-spy", default="", help="py-spy binary: profile the server")
    parser.add_argument("--profile-dir", type=Path, default=None,
                        help="where py-spy writes create.txt and watch.txt")
    parser.add_argument("--server-args", default=SERVER_ARGS,
                        help=f"extra server options (default: {SERVER_ARGS!r})")
    parser.add_argument("--server-wrapper", default="",
                        help="command prefix for the server process (e.g. a profiler)")
    parser.add_argument("--serve-echo", nargs=3, metavar=("CERT", "KEY", "PORT_FILE"),
                        help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args(sys.argv[1:])
    if args.serve_echo:
        serve_echo(*args.serve_echo)
        return
    if args.profile_dir is not None:
        args.profile_dir.mkdir(parents=True, exist_ok=True)
    print(orjson.dumps(run(args)).decode(), flush=True)


if __name__ == "__main__":
    main()
