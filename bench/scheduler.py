"""Scheduler throughput through the real API: pods/s bound on hollow nodes.

Starts ``steersman server`` (temporary data dir, port 0, SQLite, scheduler on, no
controllers, DNS or ingress, so the figures are the scheduler's and the API server's) and then
``steersman hollow-nodes`` processes, 5,000 nodes in all over 4 zones
(``topology.kubernetes.io/zone=zone-K``, ``--zones``); the nodes of the first half of the
zones are also ``disktype=ssd``. Two processes by default (``--hollow-processes``), one for
each half: every process watches every bound pod, as kwok does, so more processes cost the
server more watch streams. Then, one shape at a time, each in its own namespace, the
scheduler_perf shapes (100m / 500Mi pods):

* ``basic`` — plain pods (10,000, as the issue and upstream's 5000Nodes_10000Pods; target
  700 pods/s, upstream CI floor 680);
* ``topology_spread`` — a DoNotSchedule zone constraint, maxSkew 5 (3,000; target 400);
* ``anti_affinity`` — required anti-affinity on ``kubernetes.io/hostname`` among the
  shape's pods, so one per node (2,000; target 100, upstream floor 60);
* ``preferred_node_affinity`` — preferring ``disktype=ssd`` (2,000; no target).

Throughput = pods / seconds from the first create until a watch has seen the last pod with
``spec.nodeName`` (64 creates in flight from this process). Baseline measured in the same
run, with the nodes heart-beating: ``raw_pod_create_per_s``, the same creates of pods no
scheduler serves — the ceiling, since every pod must first be created. Beside it,
``server_cpu_cores_idle_nodes``: the server's CPU while the nodes only heart-beat (Lease
renewals every 10 s, status every minute), before any pod is created. Footprint: VmRSS
(and VmHWM, the peak) of the server process and of the hollow-node processes together.

On a machine with two or more CPUs the server's main thread (the API server, scheduler and
watch cache: one GIL-bound core) gets CPU 0 to itself and everything else — the hollow
nodes, this load generator, the server's SQLite threads — runs on the others, as a control
plane would on its own machine; ``--no-pin`` lets the kernel place them.

Progress goes to stderr; stdout gets exactly one JSON line. ``--quick``: 500 nodes and a
tenth of the pods.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from processes import Child, cpu_seconds, pin
from steersman.client import NAMESPACES, PODS, Client, load_kubeconfig

CONCURRENCY = 64
SERVER_CPU = 0
ZONE = "topology.kubernetes.io/zone"
HOSTNAME = "kubernetes.io/hostname"
TARGETS = {"basic": 700, "topology_spread": 400, "anti_affinity": 100,
           "preferred_node_affinity": None}
COUNTS = {"basic": 10_000, "topology_spread": 3000, "anti_affinity": 2000,
          "preferred_node_affinity": 2000}
Object = dict[str, Any]


def log(message: str) -> None:
    print(f"[scheduler-bench] {message}", file=sys.stderr, flush=True)


# Pod shapes ------------------------------------------------------------------------------

def _spread() -> Object:
    return {"topologySpreadConstraints": [
        {"maxSkew": 5, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule",
         "labelSelector": {"matchLabels": {"color": "blue"}}}]}


def _anti_affinity() -> Object:
    return {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"color": "green"}}, "topologyKey": HOSTNAME}]}}}


def _preferred() -> Object:
    return {"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 1, "preference": {"matchExpressions": [
            {"key": "disktype", "operator": "In", "values": ["ssd"]}]}}]}}}


SHAPES: dict[str, tuple[dict[str, str], Callable[[], Object] | None]] = {
    "basic": ({}, None),
    "topology_spread": ({"color": "blue"}, _spread),
    "anti_affinity": ({"color": "green"}, _anti_affinity),
    "preferred_node_affinity": ({}, _preferred),
}


def pod(name: str, shape: str, *, scheduler: str = "default-scheduler") -> Object:
    labels, extra = SHAPES[shape]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": dict(labels)},
            "spec": {"schedulerName": scheduler,
                     "containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.10",
                                     "resources": {"requests": {"cpu": "100m",
                                                                "memory": "500Mi"}}}],
                     **(extra() if extra else {})}}


# Measurements ----------------------------------------------------------------------------

async def create_pods(client: Client, namespace: str, pods: list[Object]) -> float:
    """Create ``pods`` with ``CONCURRENCY`` in flight; the seconds it took."""
    remaining = iter(pods)
    started = time.monotonic()

    async def worker() -> None:
        for item in remaining:
            await client.create(PODS, item, namespace=namespace)

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return time.monotonic() - started


async def watch_bindings(client: Client, namespace: str, count: int, version: str,
                         bound: set[str]) -> None:
    """Return once a watch has seen ``count`` pods of ``namespace`` with a node."""
    async with client.watch(PODS, namespace=namespace, resource_version=version) as stream:
        async for _, obj in stream:
            if obj["spec"].get("nodeName"):
                bound.add(obj["metadata"]["name"])
                if len(bound) >= count:
                    return


async def measure_shape(client: Client, shape: str, count: int,
                        timeout: float) -> dict[str, Any]:
    namespace = f"bench-{shape.replace('_', '-')}"
    created = await client.create(NAMESPACES, {"metadata": {"name": namespace}})
    bound: set[str] = set()
    watcher = asyncio.create_task(watch_bindings(
        client, namespace, count, str(created["metadata"]["resourceVersion"]), bound))
    started = time.monotonic()
    create_s = await create_pods(client, namespace,
                                 [pod(f"p-{i}", shape) for i in range(count)])
    try:
        await asyncio.wait_for(watcher, timeout)
    except TimeoutError:
        log(f"{shape}: only {len(bound)}/{count} bound within {timeout:.0f} s")
    seconds = time.monotonic() - started
    rate = len(bound) / seconds
    target = TARGETS[shape]
    return {"pods": count, "bound": len(bound), "seconds": round(seconds, 2),
            "pods_per_s": round(rate, 1), "create_per_s": round(count / create_s, 1),
            "target": target, "meets_target": None if target is None else rate >= target}


async def wait_scheduler_ready(client: Client, timeout: float) -> None:
    """A probe pod bound means the scheduler leads and its informers have synced."""
    await client.create(NAMESPACES, {"metadata": {"name": "bench-probe"}})
    await client.create(PODS, pod("probe", "basic"), namespace="bench-probe")
    deadline = time.monotonic() + timeout
    while not (await client.get(PODS, "probe", namespace="bench-probe"))["spec"].get("nodeName"):
        if time.monotonic() > deadline:
            raise RuntimeError("the scheduler did not bind the probe pod")
        await asyncio.sleep(0.2)


async def measure(kubeconfig: Path, args: argparse.Namespace, server: Child,
                  hollow: list[Child]) -> dict[str, Any]:
    async with Client(load_kubeconfig(kubeconfig), qps=1e6, burst=1_000_000,
                      connection_limit=CONCURRENCY + 8) as client:
        await wait_scheduler_ready(client, 120)
        before, began = cpu_seconds(server.pid), time.monotonic()
        await asyncio.sleep(args.settle)
        idle_cores = (cpu_seconds(server.pid) - before) / (time.monotonic() - began)
        await client.create(NAMESPACES, {"metadata": {"name": "bench-baseline"}})
        log(f"baseline: {args.baseline} raw pod creates")
        raw_s = await create_pods(client, "bench-baseline", [
            pod(f"raw-{i}", "basic", scheduler="nobody") for i in range(args.baseline)])
        shapes: dict[str, Any] = {}
        for shape in args.shape or list(SHAPES):
            count = COUNTS[shape] // args.scale
            log(f"{shape}: {count} pods")
            shapes[shape] = await measure_shape(client, shape, count, args.timeout)
            log(f"{shape}: {shapes[shape]}")
    return {
        "benchmark": "scheduler", "nodes": args.nodes, "zones": args.zones, **shapes,
        "baseline": {"raw_pod_create_per_s": round(args.baseline / raw_s, 1),
                     "server_cpu_cores_idle_nodes": round(idle_cores, 2)},
        "server_rss_mib": round(server.memory_mib("VmRSS"), 1),
        "server_peak_rss_mib": round(server.memory_mib("VmHWM"), 1),
        "hollow_rss_mib": round(sum(h.memory_mib("VmRSS") for h in hollow), 1),
        "hollow_processes": len(hollow), "cpus": os.cpu_count(), "pinned": args.pinned,
    }


def start_hollow_nodes(kubeconfig: Path, work: Path, args: argparse.Namespace) -> list[Child]:
    processes = args.hollow_processes
    per_process, zones_each = args.nodes // processes, args.zones // processes
    octets = -(-per_process // 256)  # second octets of 127.x one process's /24s span
    children = []
    for index in range(processes):
        zones = [f"zone-{z}" for z in range(index * zones_each, (index + 1) * zones_each)]
        ssd = index * zones_each < args.zones // 2
        argv = [sys.executable, "-m", "steersman", "hollow-nodes",
                "--count", str(per_process), "--kubeconfig", str(kubeconfig),
                "--name-prefix", f"h{index}", "--zones", ",".join(zones),
                "--labels", "disktype=ssd" if ssd else "",
                "--pod-cidr-base", f"127.{50 + index * octets}"]
        children.append(Child(argv, work / f"hollow-{index}.log"))
    for child in children:
        child.wait_for("registered", 900)
    return children


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--zones", type=int, default=4)
    parser.add_argument("--hollow-processes", type=int, default=2,
                        help="hollow-node processes; each takes whole zones of one half")
    parser.add_argument("--baseline", type=int, default=2000, help="raw creates")
    parser.add_argument("--shape", choices=sorted(SHAPES), action="append")
    parser.add_argument("--settle", type=float, default=3.0,
                        help="seconds after the probe pod before measuring")
    parser.add_argument("--timeout", type=float, default=120.0, help="per shape")
    parser.add_argument("--quick", action="store_true", help="500 nodes, a tenth of the pods")
    parser.add_argument("--no-pin", action="store_true",
                        help="do not give the server's main thread a CPU of its own")
    args = parser.parse_args()
    args.scale = 1
    processes, zones = args.hollow_processes, args.zones
    if (processes < 2 or zones % processes or zones % 2
            or (zones // 2) % (zones // processes)):
        parser.error("--hollow-processes must split --zones into whole zones, with the ssd "
                     "half and the other half in different processes (at least 2)")
    if args.quick:
        args.nodes, args.baseline, args.scale = 500, 500, 10
    return args


def main() -> None:
    args = parse_args()
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()
    args.pinned = len(cpus) >= 2 and SERVER_CPU in cpus and not args.no_pin
    if args.pinned:
        pin(0, cpus - {SERVER_CPU})  # inherited by every process started from here
    with tempfile.TemporaryDirectory(prefix="scheduler-bench-") as tmp:
        work = Path(tmp)
        server = Child([sys.executable, "-m", "steersman", "server", "--data-dir",
                        str(work / "data"), "--port", "0", "--controllers", "",
                        "--no-dns", "--no-ingress"],
                       work / "server.log")
        hollow: list[Child] = []
        try:
            server.wait_for("ready at", 60)
            if args.pinned:
                pin(server.pid, {SERVER_CPU})
            kubeconfig = work / "data" / "admin.kubeconfig"
            log(f"starting {args.nodes} hollow nodes in {args.zones} zones")
            started = time.monotonic()
            hollow = start_hollow_nodes(kubeconfig, work, args)
            log(f"nodes registered in {time.monotonic() - started:.1f} s")
            result = asyncio.run(measure(kubeconfig, args, server, hollow))
        finally:
            for child in (*hollow, server):
                child.stop()
    print(orjson.dumps(result).decode())


if __name__ == "__main__":
    main()
