"""Pod start-up latency on real nodes, and the idle footprint of ``steersman up``.

Two phases, each with its own ``steersman up`` (temporary data dir, port 0):

1. **Idle footprint** — the default ``up`` (one node): once the node is Ready and the
   cluster has settled, VmRSS of the ``up`` process and everything it started, and its CPU
   use over an idle window (100 % = one core). Target: ≤ 250 MB RSS in all.
2. **Start-up latency** — ``up --nodes K --runtime R`` (K = pods / 100 rounded up, so no
   node runs more than its 110-pod capacity): P pods (``sleep``) created at a fixed rate,
   each timed from just before its create request to the moment a watch shows it Running;
   p50/p99/max. Targets: process p99 ≤ 1 s, crun p99 ≤ 2 s (the Kubernetes SLO is 5 s).

Baseline in the same run: the runtime alone, without the cluster — sandbox + container
create + start of the same command through the runtime service, one after another — so
the ratio says what the cluster's path (API write, scheduler, watch, agent sync, status
write) adds to the runtime's own floor.

With crun or runc the pods run ``busybox`` (``imagePullPolicy: Never``), built here from
Debian's busybox-static (:mod:`busybox_image`) and imported into each node's image store
(``<data>/nodes/<node>/images``), rootfs unpacked, before the first pod is created: the
figure excludes image pulls, as the Kubernetes SLO does. The runtime-alone baseline runs
the same image from a store of its own.

Progress goes to stderr; stdout gets exactly one JSON line. ``--quick``: 60 pods.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from busybox_image import build_busybox_layout, import_image
from processes import (
    Child,
    cpu_seconds,
    host_cpu,
    memory_mib,
    remove_runtime_state,
    tree,
    unmount_under,
)
from steersman.client import NAMESPACES, NODES, PODS, Client, load_kubeconfig
from steersman.kubelet.runtime import interface as rt
from steersman.kubelet.runtime.registry import new_runtime

NAMESPACE = "startup"
Object = dict[str, Any]


def log(message: str) -> None:
    print(f"[pod-startup] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1)]


def summary(latencies: list[float]) -> dict[str, float]:
    return {"p50_s": round(statistics.median(latencies), 3),
            "p99_s": round(percentile(latencies, 0.99), 3),
            "max_s": round(max(latencies), 3)}


def pod(name: str, image: str) -> Object:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"terminationGracePeriodSeconds": 0,
                     "containers": [{"name": "c", "image": image, "imagePullPolicy": "Never",
                                     "command": ["sleep", "3600"]}]}}


def uses_images(runtime: str) -> bool:
    return runtime != "process"


def start_up(work: Path, name: str, *extra: str) -> tuple[Child, Path]:
    data = work / name
    child = Child([sys.executable, "-m", "steersman", "up", "--port", "0", "--name", name,
                   "--data-dir", str(data), *extra], work / f"{name}.log")
    child.wait_for("export KUBECONFIG=", 120)
    return child, data / "admin.kubeconfig"


async def wait_nodes_ready(client: Client, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        nodes = (await client.list(NODES))["items"]
        ready = [n for n in nodes if any(c.get("type") == "Ready" and c.get("status") == "True"
                                         for c in (n.get("status") or {}).get("conditions", []))]
        if len(ready) >= count:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(ready)} of {count} nodes Ready after {timeout} s")
        await asyncio.sleep(0.2)


async def idle_footprint(work: Path, args: argparse.Namespace) -> dict[str, float]:
    child, kubeconfig = start_up(work, "idle", "--runtime", args.runtime)
    try:
        async with Client(load_kubeconfig(kubeconfig)) as client:
            await wait_nodes_ready(client, 1)
        await asyncio.sleep(args.settle)
        pids = tree(child.pid)
        cpu_before, wall_before = sum(map(cpu_seconds, pids)), time.monotonic()
        await asyncio.sleep(args.idle)
        pids = tree(child.pid)
        cpu = (sum(map(cpu_seconds, pids)) - cpu_before) / (time.monotonic() - wall_before)
        return {"rss_mb": round(sum(memory_mib(p) for p in pids) * 1.048576, 1),
                "cpu_percent": round(cpu * 100, 2), "processes": len(pids)}
    finally:
        child.stop()


async def create_at_rate(client: Client, count: int, rate: float, image: str,
                         sent: dict[str, float]) -> None:
    started = time.monotonic()
    tasks = []
    for index in range(count):
        await asyncio.sleep(max(0.0, started + index / rate - time.monotonic()))
        name = f"p-{index}"
        sent[name] = time.monotonic()
        tasks.append(asyncio.create_task(
            client.create(PODS, pod(name, image), namespace=NAMESPACE)))
    await asyncio.gather(*tasks)


async def startup_latencies(client: Client, args: argparse.Namespace) -> list[float]:
    await client.create(NAMESPACES, {"metadata": {"name": NAMESPACE}})
    version = str((await client.list(PODS, namespace=NAMESPACE, limit=1))
                   ["metadata"]["resourceVersion"])
    sent: dict[str, float] = {}
    running: dict[str, float] = {}
    done = asyncio.Event()

    async def watch() -> None:
        async with client.watch(PODS, namespace=NAMESPACE, resource_version=version) as stream:
            async for _, obj in stream:
                name = obj["metadata"]["name"]
                if (obj.get("status") or {}).get("phase") == "Running" and name not in running:
                    running[name] = time.monotonic()
                    if len(running) == args.pods:
                        done.set()
                        return

    watcher = asyncio.create_task(watch())
    await create_at_rate(client, args.pods, args.rate, args.image, sent)
    try:
        await asyncio.wait_for(done.wait(), timeout=args.timeout)
    finally:
        watcher.cancel()
    return [running[name] - sent[name] for name in sent]


async def delete_all(client: Client, timeout: float = 120) -> None:
    await client.delete(NAMESPACES, NAMESPACE)
    deadline = time.monotonic() + timeout
    while (await client.list(PODS, namespace=NAMESPACE, limit=1))["items"]:
        if time.monotonic() > deadline:
            log("pods still terminating; the runtime state is removed below")
            return
        await asyncio.sleep(0.5)


async def cluster_latencies(work: Path, args: argparse.Namespace
                            ) -> tuple[list[float], dict[str, float]]:
    """Start-up latencies, and the CPU the ``up`` process used per pod while they started
    beside how busy the whole machine was (others' runs included) meanwhile."""
    nodes = max(1, math.ceil(args.pods / 100))
    child, kubeconfig = start_up(work, "startup", "--nodes", str(nodes),
                                 "--runtime", args.runtime)
    try:
        async with Client(load_kubeconfig(kubeconfig), qps=1e6, burst=1_000_000) as client:
            await wait_nodes_ready(client, nodes)
            if uses_images(args.runtime):
                for node in range(nodes):
                    await asyncio.to_thread(import_image, work / "busybox-oci.tar",
                                            node_dir(work, node) / "images")
            log(f"{args.pods} pods at {args.rate}/s on {nodes} node(s), runtime {args.runtime}")
            before = cpu_reading(child.pid)
            latencies = await startup_latencies(client, args)
            cpu = cpu_use(before, cpu_reading(child.pid), pods=args.pods)
            log(f"cpu while starting: {cpu}")
            await delete_all(client)
        return latencies, cpu
    finally:
        child.stop(timeout=60)
        for node in range(nodes):
            await remove_runtime_state(args.runtime, node_dir(work, node) / "runtime")


def cpu_reading(pid: int) -> tuple[float, float, float]:
    """``pid``'s CPU seconds (with its crun/runc commands), the machine's busy and total."""
    return (cpu_seconds(pid, children=True), *host_cpu())


def cpu_use(before: tuple[float, float, float], after: tuple[float, float, float], *,
            pods: int) -> dict[str, float]:
    up, busy, total = (a - b for a, b in zip(after, before, strict=True))
    return {"up_cpu_ms_per_pod": round(up / pods * 1000, 1),
            "host_cpu_busy": round(busy / total, 2)}


def node_dir(work: Path, node: int) -> Path:
    return work / "startup" / "nodes" / f"startup-node-{node}"


async def runtime_alone(work: Path, args: argparse.Namespace) -> list[float]:
    """Sandbox + container create + start through the runtime service, one at a time."""
    service = new_runtime(args.runtime, state_dir=work / "baseline")
    latencies = []
    try:
        for index in range(args.baseline):
            started = time.monotonic()
            sandbox = await service.run_sandbox(rt.PodSandboxConfig(
                name=f"b-{index}", namespace="bench", uid=f"uid-{index}"))
            container = await service.create_container(sandbox, rt.ContainerConfig(
                name="c", image=rt.ImageSpec(image=args.image), command=("sleep", "3600"),
                log_path=str(work / "baseline-logs" / f"{index}.log")))
            await service.start_container(container)
            latencies.append(time.monotonic() - started)
    finally:
        for status in await service.list_sandboxes():
            await service.remove_sandbox(status.id)
    return latencies


async def measure(work: Path, args: argparse.Namespace) -> Object:
    (work / "baseline-logs").mkdir()
    if uses_images(args.runtime):
        log(f"building {args.image} from busybox-static")
        build_busybox_layout(work, name=args.image)
        import_image(work / "busybox-oci.tar", work / "images")
    log(f"baseline: {args.baseline} starts through the {args.runtime} runtime alone")
    alone = await runtime_alone(work, args)
    log("idle footprint of the default up")
    footprint = await idle_footprint(work, args)
    log(f"idle: {footprint}")
    latencies, cpu = await cluster_latencies(work, args)
    figures = summary(latencies)
    return {"benchmark": "pod_startup", "runtime": args.runtime, "pods": args.pods,
            "rate_per_s": args.rate, **figures,
            "target_p99_s": 1.0 if args.runtime == "process" else 2.0,
            **cpu, "idle_up": footprint, "idle_target_rss_mb": 250,
            "baseline": {"runtime_alone": summary(alone),
                         "p50_ratio": round(figures["p50_s"]
                                            / statistics.median(alone), 1)},
            "cpus": os.cpu_count()}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runtime", choices=("process", "crun", "runc"), default="process")
    parser.add_argument("--image", default="busybox",
                        help="name of the busybox image built for crun/runc (the process "
                             "runtime ignores it)")
    parser.add_argument("--pods", type=int, default=300)
    parser.add_argument("--rate", type=float, default=20.0, help="pod creates per second")
    parser.add_argument("--baseline", type=int, default=30, help="runtime-alone starts")
    parser.add_argument("--idle", type=float, default=10.0, help="idle window, seconds")
    parser.add_argument("--settle", type=float, default=5.0,
                        help="seconds after the node is Ready before the idle window")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--quick", action="store_true", help="60 pods, 10 baseline starts")
    args = parser.parse_args()
    if args.quick:
        args.pods, args.baseline, args.idle = 60, 10, 5.0
    return args


def main() -> None:
    args = parse_args()
    if shutil.which("sleep") is None:
        raise SystemExit("pod_startup: the pods run `sleep`, which is not on PATH")
    with tempfile.TemporaryDirectory(prefix="pod-startup-") as tmp:
        try:
            result = asyncio.run(measure(Path(tmp), args))
        finally:
            if left := unmount_under(Path(tmp)):
                log(f"unmounted {left} mount(s) the runtime left behind")
    print(orjson.dumps(result).decode())


if __name__ == "__main__":
    main()
