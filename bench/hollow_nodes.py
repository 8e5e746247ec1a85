"""Hollow-node benchmark: registration, heartbeat load, footprint and pods-to-Running.

Starts its own ``steersman server`` (temporary data dir, port 0, SQLite, no controllers,
no DNS or ingress, so the figures are the hollow nodes' and the API server's alone) and
then, as a second
process, ``steersman hollow-nodes --count N``. Measured, with this process's
``steersman.client`` as the observer:

* ``nodes_registered_per_s`` — N over the time until the process reports its nodes
  registered (one Node create with status + one Lease create per node);
* ``lease_writes_per_s`` — Lease MODIFIED events seen on a watch of ``kube-node-lease``
  while the nodes idle (expected: N / ~10.2 s);
* ``rss_mib``, ``cpu_percent`` — of the hollow-node process over the idle window
  (``/proc``; 100 % = one core);
* ``pods_running_per_s`` — P pods created with ``spec.nodeName`` spread over the nodes
  (32 concurrent creates), over the time until a watch has seen every one Running;
* baseline ``raw_pod_create_per_s`` — the same creates, onto a node nobody runs, through
  the same client in the same run: the ceiling for pods-to-Running, which costs a create
  plus a status write per pod.

Progress goes to stderr; stdout gets exactly one JSON line. ``--quick`` is a small run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from processes import Child, cpu_seconds, memory_mib
from steersman.client import LEASES, NAMESPACES, PODS, Client, load_kubeconfig

CONCURRENCY = 32


def log(message: str) -> None:
    print(f"[hollow-bench] {message}", file=sys.stderr, flush=True)


def pod(name: str, node: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "pause:3.9"}]}}


async def create_pods(client: Client, namespace: str, names: list[str],
                      node_of: Any) -> float:
    """Create the pods with ``CONCURRENCY`` in flight; the seconds it took."""
    remaining = iter(names)
    started = time.monotonic()

    async def worker() -> None:
        for name in remaining:
            await client.create(PODS, pod(name, node_of(name)), namespace=namespace)

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return time.monotonic() - started


async def count_events(client: Client, namespace: str, resource: Any, seconds: float) -> int:
    """MODIFIED events on ``resource`` in ``namespace`` during ``seconds``."""
    listed = await client.list(resource, namespace=namespace, limit=1)
    version = str(listed["metadata"]["resourceVersion"])
    seen = 0

    async def watch() -> None:
        nonlocal seen
        async with client.watch(resource, namespace=namespace, resource_version=version) as s:
            async for kind, _ in s:
                seen += kind == "MODIFIED"

    task = asyncio.create_task(watch())
    await asyncio.sleep(seconds)
    task.cancel()
    return seen


async def pods_to_running(client: Client, namespace: str, count: int, nodes: int,
                          prefix: str) -> float:
    """Create ``count`` pods on the hollow nodes; seconds until all are Running."""
    listed = await client.list(PODS, namespace=namespace, limit=1)
    running: set[str] = set()
    done = asyncio.Event()

    async def watch() -> None:
        async with client.watch(PODS, namespace=namespace,
                                resource_version=str(listed["metadata"]["resourceVersion"])
                                ) as stream:
            async for _, obj in stream:
                if (obj.get("status") or {}).get("phase") == "Running":
                    running.add(obj["metadata"]["name"])
                    if len(running) == count:
                        done.set()
                        return

    watcher = asyncio.create_task(watch())
    started = time.monotonic()
    names = [f"p-{i}" for i in range(count)]
    await create_pods(client, namespace, names, lambda n: f"{prefix}-{int(n[2:]) % nodes}")
    await asyncio.wait_for(done.wait(), timeout=600)
    watcher.cancel()
    return time.monotonic() - started


async def measure(kubeconfig: Path, hollow_argv: list[str], work: Path,
                  args: argparse.Namespace) -> dict[str, Any]:
    async with Client(load_kubeconfig(kubeconfig), qps=1e6, burst=1_000_000) as client:
        for ns in ("baseline", "hollow-bench"):
            await client.create(NAMESPACES, {"metadata": {"name": ns}})
        log(f"baseline: {args.pods} raw pod creates")
        raw = await create_pods(client, "baseline", [f"b-{i}" for i in range(args.pods)],
                                lambda _: "nowhere")
        log(f"starting {args.nodes} hollow nodes")
        started = time.monotonic()
        hollow = Child(hollow_argv, work / "hollow.log")
        try:
            await asyncio.to_thread(hollow.wait_for, "registered", 900)
            registered = time.monotonic() - started
            await asyncio.sleep(args.settle)
            pid = hollow.process.pid
            cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
            log(f"idle window: {args.idle} s")
            leases = await count_events(client, "kube-node-lease", LEASES, args.idle)
            idle_s = time.monotonic() - wall_before
            cpu = (cpu_seconds(pid) - cpu_before) / idle_s * 100
            rss = memory_mib(pid)
            log(f"{args.pods} pods to Running")
            running_s = await pods_to_running(client, "hollow-bench", args.pods, args.nodes,
                                              "hollow")
            rss_with_pods = memory_mib(pid)
        finally:
            hollow.stop()
    return {
        "benchmark": "hollow_nodes", "nodes": args.nodes, "pods": args.pods,
        "nodes_registered_per_s": round(args.nodes / registered, 1),
        "lease_writes_per_s": round(leases / args.idle, 1),
        "expected_lease_writes_per_s": round(args.nodes / 10.2, 1),
        "idle_rss_mib": round(rss, 1), "idle_cpu_percent": round(cpu, 1),
        "rss_mib_with_pods": round(rss_with_pods, 1),
        "pods_running_per_s": round(args.pods / running_s, 1),
        "baseline": {"raw_pod_create_per_s": round(args.pods / raw, 1)},
        "cpus": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--pods", type=int, default=10000)
    parser.add_argument("--idle", type=float, default=30.0)
    parser.add_argument("--settle", type=float, default=12.0,
                        help="seconds after registration before the idle window")
    parser.add_argument("--quick", action="store_true", help="500 nodes, 1000 pods, 10 s")
    args = parser.parse_args()
    if args.quick:
        args.nodes, args.pods, args.idle, args.settle = 500, 1000, 10.0, 5.0
    with tempfile.TemporaryDirectory(prefix="hollow-bench-") as tmp:
        work = Path(tmp)
        server = Child([sys.executable, "-m", "steersman", "server", "--data-dir",
                        str(work / "data"), "--port", "0", "--controllers", "",
                        "--no-dns", "--no-ingress"],
                       work / "server.log")
        try:
            server.wait_for("ready at", 60)
            kubeconfig = work / "data" / "admin.kubeconfig"
            hollow_argv = [sys.executable, "-m", "steersman", "hollow-nodes", "--count",
                           str(args.nodes), "--kubeconfig", str(kubeconfig)]
            result = asyncio.run(measure(kubeconfig, hollow_argv, work, args))
        finally:
            server.stop()
    print(orjson.dumps(result).decode())


if __name__ == "__main__":
    main()
