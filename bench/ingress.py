"""Requests/s and p99 through the ingress, beside a direct connection to the same pod.

Starts ``steersman up`` (process runtime) in a temporary data dir, runs one pod (an aiohttp
server on ``$POD_IP:8080``, the kind of pod the e2e tests run) behind a Service and an
Ingress, then drives keep-alive HTTP/1.1 GETs from ``--connections`` connections, in
alternating rounds: straight to the pod, through the ingress (and, with ``--nginx``,
through an nginx started here with a generated config, keep-alive upstream, one worker —
the alternative docs/ingress.md weighs). Prints one JSON line; ``ingress_vs_direct`` is the
ratio of requests/s. Everything it starts is stopped by PID at the end.

    python bench/ingress.py [--seconds 6] [--connections 16] [--nginx]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

from processes import remove_runtime_state, stop_process

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
HOST = "bench.example.com"
NGINX_CONF = """
worker_processes 1; daemon off; pid {work}/nginx.pid; error_log {work}/nginx.err warn;
events {{ worker_connections 1024; }}
http {{
  access_log off; keepalive_requests 1000000;
  upstream pod {{ server {pod}:8080; keepalive 64; keepalive_requests 1000000; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{ proxy_pass http://pod; proxy_http_version 1.1;
      proxy_set_header Connection ""; proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr; }}
  }}
}}
"""


def log(message: str) -> None:
    print(f"[bench/ingress {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Cluster:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.name = f"bench{uuid.uuid4().hex[:6]}"
        self.data = work / "data"
        self.log_path = work / "up.log"
        with self.log_path.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "steersman", "up", "--port", "0", "--data-dir",
                 str(self.data), "--name", self.name], stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)

    def wait_ready(self) -> tuple[str, int]:
        deadline = time.monotonic() + 90
        while "export KUBECONFIG=" not in (text := self.log_path.read_text()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"steersman up did not start:\n{text}")
            time.sleep(0.1)
        found = re.search(r"ingress \(class steersman\): http://([\d.]+):(\d+)", text)
        if not found:
            raise RuntimeError(f"no ingress address in:\n{text}")
        return found[1], int(found[2])

    def kubectl(self, *args: str, input: str | None = None) -> str:
        env = {**os.environ, "KUBECONFIG": str(self.data / "admin.kubeconfig")}
        return subprocess.run(["kubectl", "--cache-dir", str(self.work / "kc"), *args],
                              input=input, capture_output=True, text=True, env=env,
                              check=True, timeout=60).stdout

    def stop(self) -> None:
        stop_process(self.process)
        node = self.data / "nodes" / f"{self.name}-node-0"
        asyncio.run(remove_runtime_state("process", node / "runtime"))


def manifests() -> str:
    env = [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
           {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "labels": {"app": "web"}},
           "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
               "name": "web", "image": "python", "command": [sys.executable, "-c", POD_SERVER],
               "env": env, "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1}}]}}
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
               "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}}
    ingress = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web"},
               "spec": {"rules": [{"host": HOST, "http": {"paths": [{
                   "path": "/", "pathType": "Prefix", "backend": {"service": {
                       "name": "web", "port": {"number": 80}}}}]}}]}}
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": [pod, service, ingress]})


async def get_once(address: str, port: int) -> int:
    reader, writer = await asyncio.open_connection(address, port)
    writer.write(f"GET / HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
    status = int((await reader.read()).split(b" ", 2)[1] or 0)
    writer.close()
    return status


async def wait_serving(address: str, port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if await get_once(address, port) == 200:
                return
        except (OSError, ValueError, IndexError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{address}:{port} does not answer 200")
        await asyncio.sleep(0.2)


async def load(address: str, port: int, *, connections: int, seconds: float) -> list[float]:
    """Latencies (seconds) of every request completed within ``seconds``."""
    request = f"GET /bench HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode()
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(address, port)
        try:
            while (started := time.perf_counter()) < stop_at:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(re.search(rb"(?i)content-length: *(\d+)", head)[1])  # type: ignore[index]
                await reader.readexactly(length)
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


def start_nginx(work: Path, pod_ip: str) -> tuple[subprocess.Popen[bytes], int]:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        raise SystemExit("--nginx: nginx is not installed (apt-get install -y nginx-light)")
    port = 20000 + os.getpid() % 10000
    (work / "nginx.conf").write_text(NGINX_CONF.format(work=work, pod=pod_ip, port=port))
    process = subprocess.Popen([binary, "-c", str(work / "nginx.conf"), "-p", str(work)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    return process, port


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(targets: dict[str, tuple[str, int]], args: argparse.Namespace,
                  proxy_pid: int) -> dict[str, Any]:
    for address, port in targets.values():
        await wait_serving(address, port)
    rounds = 3
    samples: dict[str, list[float]] = {name: [] for name in targets}
    proxy_cpu = 0.0
    for round_number in range(rounds):
        for name, (address, port) in targets.items():
            log(f"round {round_number + 1}/{rounds}: {name}")
            before = cpu_seconds(proxy_pid)
            samples[name] += await load(address, port, connections=args.connections,
                                        seconds=args.seconds / rounds)
            if name == "ingress":
                proxy_cpu += cpu_seconds(proxy_pid) - before
    result: dict[str, Any] = {"bench": "ingress", "connections": args.connections,
                              "seconds_per_target": args.seconds}
    for name, latencies in samples.items():
        for key, value in summary(latencies, args.seconds).items():
            result[f"{name}_{key}"] = value
    result["ingress_vs_direct"] = round(result["ingress_rps"] / result["direct_rps"], 3)
    # CPU the steersman process (the proxy) spent per request: independent of how busy
    # the other core is, unlike the rates.
    result["ingress_cpu_us_per_request"] = round(proxy_cpu / len(samples["ingress"]) * 1e6, 1)
    if "nginx" in samples:
        result["nginx_vs_direct"] = round(result["nginx_rps"] / result["direct_rps"], 3)
    return result


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="steersman-bench-ingress-") as tmp:
        work = Path(tmp)
        cluster = Cluster(work)
        nginx: subprocess.Popen[bytes] | None = None
        try:
            address, port = cluster.wait_ready()
            log(f"cluster up; ingress at {address}:{port}")
            cluster.kubectl("apply", "-f", "-", input=manifests())
            pod_ip = ""
            while not pod_ip:
                time.sleep(0.2)
                pod_ip = cluster.kubectl("get", "pod", "web", "-o", "jsonpath={.status.podIP}")
            targets = {"direct": (pod_ip, 8080), "ingress": (address, port)}
            if args.nginx:
                nginx, nginx_port = start_nginx(work, pod_ip)
                targets["nginx"] = ("127.0.0.1", nginx_port)
            return asyncio.run(measure(targets, args, cluster.process.pid))
        finally:
            if nginx is not None:
                nginx.terminate()
                nginx.wait(timeout=10)
            cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=6.0,
                        help="load time per target, split over 3 alternating rounds")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--nginx", action="store_true",
                        help="also measure nginx (one worker) proxying to the same pod")
    print(orjson.dumps(run(parser.parse_args())).decode(), flush=True)


if __name__ == "__main__":
    main()
