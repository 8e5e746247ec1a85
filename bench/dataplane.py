"""Data-plane throughput and latency beside a direct connection to the pod, in one run.

Starts ``steersman up`` (process runtime, one node) in a temporary data dir with one pod
(an aiohttp server on ``$POD_IP:8080`` answering with its name) behind a ClusterIP and a
NodePort Service, then drives keep-alive HTTP/1.1 GETs from ``--connections`` connections
in alternating rounds against every target of the chosen sections, always including
``direct`` (the pod itself) as the same-run baseline. Prints one JSON line: per target
``rps``, ``p50_ms``, ``p99_ms`` and ``<target>_vs_direct`` (ratio of requests/s).

Sections are pluggable: a section is a function in :data:`SECTIONS` that, given the
running :class:`Bench` (kubectl, the pod, the cluster's addresses), prepares what it needs
and returns a :class:`Section`: its named targets ``{"name": (host, port)}`` to load, and
any figures of its own (merged into the JSON line, prefixed with the section's name):

* ``userspace`` — ClusterIP and NodePort through the userspace proxy, plus
  ``programming_ms``: from ``kubectl apply`` of a new Service returning to its ClusterIP
  answering;
* ``ingress`` — the same pod through the ingress controller (a Service and an Ingress
  without a host); ``bench/ingress.py`` has the nginx comparison;
* ``programming`` — no load target: EndpointSlice change → userspace proxy latency with
  ``--services`` Services x 10 endpoints, p50/p99 over ``--changes`` changes, beside the
  same changes with 25 Services (:mod:`programming`).

    python bench/dataplane.py [--seconds 6] [--connections 16] [--sections userspace,...]
        [--services 1000] [--changes 50]

Everything it starts is stopped by PID, and the pod's processes are removed, at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import programming
from steersman.kubelet.runtime.registry import new_runtime

Target = tuple[str, int]


@dataclass
class Section:
    targets: dict[str, Target]
    figures: dict[str, float] = field(default_factory=dict)


POD_SERVER = r"""
import os
from aiohttp import web
body = f"hello from {os.environ['POD_NAME']}\n"
async def hello(request):
    return web.Response(text=body)
app = web.Application()
app.router.add_get("/{tail:.*}", hello)
web.run_app(app, host=os.environ["POD_IP"], port=8080, print=None, access_log=None)
"""


def log(message: str) -> None:
    print(f"[bench/dataplane {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr,
          flush=True)


class Bench:
    """A one-node cluster with the pod ``web`` (label ``app=web``, port 8080) running."""

    def __init__(self, work: Path, args: argparse.Namespace) -> None:
        self.work = work
        self.args = args
        self.name = f"dp{uuid.uuid4().hex[:6]}"
        self.data = work / "data"
        self.log_path = work / "up.log"
        with self.log_path.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "steersman", "up", "--port", "0", "--data-dir",
                 str(self.data), "--name", self.name], stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        self.pod_ip = ""

    def start(self) -> None:
        deadline = time.monotonic() + 90
        while "export KUBECONFIG=" not in (text := self.log_path.read_text()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"steersman up did not start:\n{text}")
            time.sleep(0.1)
        self.apply(pod_manifest())
        self.kubectl("wait", "--for=condition=Ready", "pod/web", "--timeout=90s")
        self.pod_ip = self.json("get", "pod", "web")["status"]["podIP"]

    def kubectl(self, *args: str, input: str | None = None) -> str:
        env = {**os.environ, "KUBECONFIG": str(self.data / "admin.kubeconfig")}
        return subprocess.run(["kubectl", "--cache-dir", str(self.work / "kc"), *args],
                              input=input, capture_output=True, text=True, env=env,
                              check=True, timeout=60).stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.kubectl(*args, "-o", "json"))

    def apply(self, manifest: object) -> None:
        self.kubectl("apply", "-f", "-", input=json.dumps(manifest))

    def ingress_address(self) -> Target:
        found = re.search(r"ingress \(class steersman\): http://([\d.]+):(\d+)",
                          self.log_path.read_text())
        if not found:
            raise RuntimeError(f"no ingress address in {self.log_path}")
        return found[1], int(found[2])

    def node_ip(self) -> str:
        node = self.json("get", "node", f"{self.name}-node-0")
        return str(next(a["address"] for a in node["status"]["addresses"]
                        if a["type"] == "InternalIP"))

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        asyncio.run(_remove_containers(self.data / "nodes" / f"{self.name}-node-0" / "runtime"))


async def _remove_containers(state_dir: Path) -> None:
    runtime = new_runtime("process", state_dir=state_dir)
    for sandbox in await runtime.list_sandboxes():
        await runtime.remove_sandbox(sandbox.id)


def pod_manifest() -> dict[str, Any]:
    env = [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
           {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                "name": "web", "image": "python", "command": [sys.executable, "-c", POD_SERVER],
                "env": env, "readinessProbe": {"tcpSocket": {"port": 8080},
                                               "periodSeconds": 1}}]}}


def service(name: str, kind: str, port: int) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"type": kind, "selector": {"app": "web"},
                     "ports": [{"port": port, "targetPort": 8080}]}}


def userspace_section(bench: Bench) -> Section:
    """ClusterIP and NodePort through the userspace proxy, and how soon a new one answers."""
    # A ClusterIP chosen here, so the clock starts when apply returns, not after a read.
    cluster_ip = f"127.43.{random.randrange(200, 255)}.{random.randrange(2, 255)}"
    web = service("web", "ClusterIP", 80)
    web["spec"]["clusterIP"] = cluster_ip
    bench.apply({"apiVersion": "v1", "kind": "List", "items": [
        web, service("web-np", "NodePort", 80)]})
    applied = time.perf_counter()
    asyncio.run(wait_serving(cluster_ip, 80, poll=0.005))
    programming_ms = round((time.perf_counter() - applied) * 1000, 1)
    node_port = bench.json("get", "service", "web-np")["spec"]["ports"][0]["nodePort"]
    return Section({"cluster_ip": (cluster_ip, 80), "node_port": (bench.node_ip(), int(node_port))},
                   {"programming_ms": programming_ms})


def ingress_section(bench: Bench) -> Section:
    """The pod through the ingress controller: a Service and an Ingress for any host."""
    ingress = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
               "metadata": {"name": "web-ing"},
               "spec": {"rules": [{"http": {"paths": [{
                   "path": "/", "pathType": "Prefix",
                   "backend": {"service": {"name": "web-ing", "port": {"number": 80}}}}]}}]}}
    bench.apply({"apiVersion": "v1", "kind": "List", "items": [
        service("web-ing", "ClusterIP", 80), ingress]})
    return Section({"ingress": bench.ingress_address()})


def programming_section(bench: Bench) -> Section:
    """EndpointSlice change → userspace proxy, at ``--services`` Services (no target)."""
    found = asyncio.run(programming.run(bench.data / "admin.kubeconfig",
                                        services=bench.args.services,
                                        changes=bench.args.changes))
    return Section({}, found)


SECTIONS: dict[str, Callable[[Bench], Section]] = {
    "userspace": userspace_section,
    "ingress": ingress_section,
    "programming": programming_section,
}


async def get_once(host: str, port: int) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
    status = int((await reader.read()).split(b" ", 2)[1] or 0)
    writer.close()
    return status


async def wait_serving(host: str, port: int, timeout: float = 60, poll: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if await get_once(host, port) == 200:
                return
        except (OSError, ValueError, IndexError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{host}:{port} does not answer 200")
        await asyncio.sleep(poll)


async def load(host: str, port: int, *, connections: int, seconds: float) -> list[float]:
    """Latencies (seconds) of every request completed within ``seconds``."""
    request = b"GET /bench HTTP/1.1\r\nHost: bench\r\n\r\n"
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while (started := time.perf_counter()) < stop_at:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                found = re.search(rb"(?i)content-length: *(\d+)", head)
                await reader.readexactly(int(found[1]) if found else 0)
                latencies.append(time.perf_counter() - started)
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return latencies


def summary(latencies: list[float], seconds: float) -> dict[str, float]:
    ordered = sorted(latencies)
    return {"rps": round(len(ordered) / seconds, 1),
            "p50_ms": round(ordered[len(ordered) // 2] * 1000, 3),
            "p99_ms": round(ordered[int(len(ordered) * 0.99)] * 1000, 3)}


async def measure(targets: dict[str, Target], *, seconds: float, connections: int,
                  rounds: int = 3) -> dict[str, Any]:
    """Alternating rounds over every target, so drift hits them all alike."""
    for host, port in targets.values():
        await wait_serving(host, port)
    samples: dict[str, list[float]] = {name: [] for name in targets}
    for number in range(rounds):
        for name, (host, port) in targets.items():
            log(f"round {number + 1}/{rounds}: {name} ({host}:{port})")
            samples[name] += await load(host, port, connections=connections,
                                        seconds=seconds / rounds)
    result: dict[str, Any] = {name: summary(s, seconds) for name, s in samples.items()}
    direct = result["direct"]["rps"]
    for name in targets:
        if name != "direct":
            result[f"{name}_vs_direct"] = round(result[name]["rps"] / direct, 3)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="per target, all rounds")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help=f"comma-separated, of: {', '.join(SECTIONS)}")
    parser.add_argument("--services", type=int, default=1000,
                        help="programming: Services, 10 endpoints each")
    parser.add_argument("--changes", type=int, default=50,
                        help="programming: EndpointSlice changes timed")
    args = parser.parse_args()
    chosen = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown sections {unknown}; known: {', '.join(SECTIONS)}")
    with tempfile.TemporaryDirectory(prefix="steersman-bench-dataplane-") as work:
        bench = Bench(Path(work), args)
        try:
            bench.start()
            targets: dict[str, Target] = {"direct": (bench.pod_ip, 8080)}
            figures: dict[str, float] = {}
            for name in chosen:
                section = SECTIONS[name](bench)
                targets.update(section.targets)
                figures.update({f"{name}_{k}": v for k, v in section.figures.items()})
            result = asyncio.run(measure(targets, seconds=args.seconds,
                                         connections=args.connections))
        finally:
            bench.stop()
    print(json.dumps({"bench": "dataplane", "connections": args.connections,
                      "seconds_per_target": args.seconds, "sections": chosen, **figures,
                      **result}))


if __name__ == "__main__":
    main()
