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
  same changes with 25 Services (:mod:`programming`);
* ``nftables`` — root only (skipped with its reason otherwise), not through the cluster
  above: :class:`~steersman.proxy.nftables.NftablesBackend` itself programs a ClusterIP in
  network namespaces this script creates, wired like one node of ``up --network bridge``
  (:class:`NftWorld`): a "node" namespace holding a bridge with the gateway address and the
  proxy's table, a server "pod" running the same aiohttp server and a client "pod", each on
  the bridge by a veth, with routes to 10.43.0.0/16 via the gateway and no default route.
  The load generator runs inside the client namespace and alternates, in the same run (six
  rounds), between the server's pod IP (``direct``: over the bridge) and the ClusterIP
  (DNAT in the node's prerouting hook, routed back onto the bridge, hairpin-masqueraded as
  for two pods of one node). Figures: both targets' ``rps``/``p50_ms``/``p99_ms``,
  ``cluster_ip_vs_direct`` (requests/s) and ``cluster_ip_p99_vs_direct``, and ``sync_ms``
  (one ``nft -f`` of the table), and ``bridge_nf_call_iptables`` in the node namespace
  (1 where ``br_netfilter`` is loaded: bridged frames, the direct path, then pass its ip
  hooks too, as on a real node of such a machine; absent without the module).

    python bench/dataplane.py [--seconds 6] [--connections 16] [--sections userspace,...]
        [--services 1000] [--changes 50]

Everything it starts is stopped by PID, and the pod's processes are removed, at the end;
the ``nftables`` section deletes its namespaces (and with them its bridge, veths and table).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
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
from processes import remove_runtime_state, stop_process
from steersman.proxy.model import Endpoint, Frontend, ProxyTable, Route, ServiceRef
from steersman.proxy.nftables import NftablesBackend

Target = tuple[str, int]


@dataclass
class Section:
    targets: dict[str, Target]
    figures: dict[str, Any] = field(default_factory=dict)


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
        stop_process(self.process)
        node = self.data / "nodes" / f"{self.name}-node-0"
        asyncio.run(remove_runtime_state("process", node / "runtime"))


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


# --- nftables: the backend itself, in namespaces of our own -------------------------------

NFT_GATEWAY, NFT_CLIENT, NFT_SERVER = "10.42.250.1", "10.42.250.2", "10.42.250.3"
NFT_CLUSTER_IP = "10.43.250.80"
NFT_SETUP = ("NftablesBackend in own netns: node ns (bridge, gateway 10.42.250.1, proxy "
             "table), server pod ns 10.42.250.3, client pod ns 10.42.250.2 running the load; "
             "one-node bridge topology, hairpin path")


def _sh(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, timeout=30)


class NftWorld:
    """Three namespaces of our own, wired like one node of ``up --network bridge``."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:6]
        self.node, self.client, self.server = (f"smbench-{tag}-{r}" for r in "ncs")
        self.created: list[str] = []
        self.process: subprocess.Popen[bytes] | None = None

    def build(self) -> None:
        for ns in (self.node, self.client, self.server):
            _sh("ip", "netns", "add", ns)
            self.created.append(ns)
            _sh("ip", "-n", ns, "link", "set", "lo", "up")
        _sh("ip", "-n", self.node, "link", "add", "br0", "type", "bridge")
        _sh("ip", "-n", self.node, "addr", "add", f"{NFT_GATEWAY}/24", "dev", "br0")
        _sh("ip", "-n", self.node, "link", "set", "br0", "up")
        # As bridge mode does: forwarding on the bridge only (this namespace is ours).
        _sh("ip", "netns", "exec", self.node, "sysctl", "-qw",
            "net.ipv4.conf.br0.forwarding=1")
        for ns, ip in ((self.client, NFT_CLIENT), (self.server, NFT_SERVER)):
            veth = f"v{ns[-1]}{uuid.uuid4().hex[:6]}"
            _sh("ip", "-n", self.node, "link", "add", veth, "type", "veth", "peer", "name",
                "eth0", "netns", ns)
            _sh("ip", "-n", self.node, "link", "set", veth, "master", "br0", "up")
            _sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", "eth0")
            _sh("ip", "-n", ns, "link", "set", "eth0", "up")
            # Pods' routes in bridge mode: the pod range is on-link, Services via the
            # gateway; no default route.
            _sh("ip", "-n", ns, "route", "add", "10.43.0.0/16", "via", NFT_GATEWAY)
        env = {**os.environ, "POD_IP": NFT_SERVER, "POD_NAME": "web"}
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", self.server, sys.executable, "-c", POD_SERVER], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def bridge_nf_call_iptables(self) -> int | None:
        found = subprocess.run(["ip", "netns", "exec", self.node, "cat",
                                "/proc/sys/net/bridge/bridge-nf-call-iptables"],
                               capture_output=True, text=True, check=False)
        return int(found.stdout) if found.returncode == 0 else None

    def in_client(self, *argv: str, timeout: float) -> str:
        return subprocess.run(["ip", "netns", "exec", self.client, *argv], capture_output=True,
                              text=True, check=True, timeout=timeout).stdout

    def teardown(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for ns in reversed(self.created):  # takes its veths, bridge and nft table along
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)


def nftables_section(bench: Bench) -> Section:
    """A ClusterIP DNAT'd by the nftables backend beside the pod itself, both from a pod."""
    missing = [tool for tool in ("ip", "nft") if not shutil.which(tool)]
    if os.geteuid() != 0 or missing:
        reason = f"missing {', '.join(missing)}" if missing else "needs root"
        log(f"nftables: skipped ({reason})")
        return Section({}, {"skipped": reason})
    world = NftWorld()
    backend = NftablesBackend(node_name="bench",
                              command=("ip", "netns", "exec", world.node, "nft"))
    route = Route(name="web", service=ServiceRef("default", "web"), kind="cluster-ip",
                  endpoints=(Endpoint(NFT_SERVER, 8080, "bench"),))
    try:
        world.build()
        log(f"nftables: namespaces {world.node}/{world.client}/{world.server}")
        started = time.perf_counter()
        asyncio.run(backend.sync(ProxyTable({Frontend("TCP", NFT_CLUSTER_IP, 80): route})))
        sync_ms = round((time.perf_counter() - started) * 1000, 1)
        targets = {"direct": (NFT_SERVER, 8080), "cluster_ip": (NFT_CLUSTER_IP, 80)}
        log("nftables: load from the client namespace")
        out = world.in_client(
            sys.executable, str(Path(__file__).resolve()), "--load-in-netns",
            json.dumps({"targets": targets, "seconds": bench.args.seconds,
                        "connections": bench.args.connections, "rounds": 6}),
            timeout=bench.args.seconds * 3 + 120)
        found = json.loads(out.strip().splitlines()[-1])
        found["cluster_ip_p99_vs_direct"] = round(
            found["cluster_ip"]["p99_ms"] / found["direct"]["p99_ms"], 3)
        return Section({}, {"setup": NFT_SETUP, "sync_ms": sync_ms,
                            "bridge_nf_call_iptables": world.bridge_nf_call_iptables(),
                            **found})
    finally:
        with contextlib.suppress(Exception):
            asyncio.run(asyncio.wait_for(backend.close(), 30))
        world.teardown()


SECTIONS: dict[str, Callable[[Bench], Section]] = {
    "userspace": userspace_section,
    "ingress": ingress_section,
    "programming": programming_section,
    "nftables": nftables_section,
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
    """Alternating rounds over every target, so drift hits them all alike; every other
    round goes through the targets in reverse, so none always comes first."""
    for host, port in targets.values():
        await wait_serving(host, port)
    samples: dict[str, list[float]] = {name: [] for name in targets}
    for number in range(rounds):
        order = list(targets.items())
        for name, (host, port) in order[::-1] if number % 2 else order:
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
    parser.add_argument("--load-in-netns", metavar="JSON", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_in_netns:  # the nftables section's load generator, inside a namespace
        spec = json.loads(args.load_in_netns)
        in_netns = {name: (host, int(port)) for name, (host, port) in spec["targets"].items()}
        print(json.dumps(asyncio.run(measure(in_netns, seconds=spec["seconds"],
                                             connections=spec["connections"],
                                             rounds=spec["rounds"]))))
        return
    chosen = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown sections {unknown}; known: {', '.join(SECTIONS)}")
    with tempfile.TemporaryDirectory(prefix="steersman-bench-dataplane-") as work:
        bench = Bench(Path(work), args)
        try:
            bench.start()
            targets: dict[str, Target] = {"direct": (bench.pod_ip, 8080)}
            figures: dict[str, Any] = {}
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
