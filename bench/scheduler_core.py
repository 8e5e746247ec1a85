"""Scheduler core benchmark: pods/s of the in-process scheduling loop, no API server.

scheduler_perf shapes (``test/integration/scheduler_perf``): 5,000 nodes (4 cpu, 32Gi, 110
pods, hostname + zone labels), 1,000 existing pods, then the measured pods, each 100m /
500Mi:

* ``basic`` — 10,000 plain pods (target 700 pods/s here; upstream CI floor 680);
* ``topology_spread`` — 10,000 pods with a DoNotSchedule zone constraint, maxSkew 5
  (target 400);
* ``anti_affinity`` — required anti-affinity on hostname among all (existing and measured)
  pods, so at most one per node: 2,000 measured pods as in scheduler_perf's
  SchedulingPodAntiAffinity (10,000 cannot fit on 5,000 nodes) (target 100);
* ``preferred_node_affinity`` — 10,000 pods preferring ``disktype=ssd`` (half the nodes).

Throughput = measured pods / wall time from the first ``on_pod_add`` until every binding
has completed. The fake binder "confirms" each binding the way the informer would (an
``on_pod_update`` with ``spec.nodeName`` set), so that cost is included. Baseline measured in
the same run: nanoseconds per trivial Python method call, the unit the hot path is made of.
Each shape also reports ``digests``: hashes of every placement, failure message and
preemption victim. Prints one JSON line. ``--quick`` divides every count by 10.
``--against SRC`` runs this tree and another one (a ``src`` folder holding ``steersman``)
alternately, ``--rounds`` times each, and prints each one's best pods/s per shape, the ratio
(a before/after comparison under the same machine load) and, per shape, whether both trees
made the same decisions (``same_decisions``: equal digests).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from steersman.scheduler import Scheduler

TARGETS = {"basic": 700, "topology_spread": 400, "anti_affinity": 100,
           "preferred_node_affinity": None}
ZONE = "topology.kubernetes.io/zone"
HOSTNAME = "kubernetes.io/hostname"


class FakeBinder:
    """Counts the scheduler's writes and remembers what they said, for :meth:`digests`."""

    def __init__(self) -> None:
        self.scheduler: Scheduler | None = None
        self.bound = 0
        self.unschedulable = 0
        self.placements: list[str] = []
        self.messages: list[str] = []
        self.victims: list[str] = []

    async def bind(self, pod: Mapping[str, Any], node_name: str) -> None:
        self.bound += 1
        self.placements.append(f"{pod['metadata']['name']}={node_name}")
        assert self.scheduler is not None
        self.scheduler.on_pod_update({**pod, "spec": {**pod["spec"], "nodeName": node_name}})

    async def set_unschedulable(self, pod: Mapping[str, Any], *, message: str,
                                nominated_node_name: str | None = None) -> None:
        self.unschedulable += 1
        self.messages.append(f"{pod['metadata']['name']}: {message} ({nominated_node_name})")

    async def delete_victim(self, victim: Mapping[str, Any], *, preemptor: Mapping[str, Any],
                            node_name: str) -> None:
        self.victims.append(f"{victim['metadata']['name']} by {preemptor['metadata']['name']} "
                            f"on {node_name}")

    def digests(self) -> dict[str, str]:
        """Short hashes of every placement, failure message and victim, in a fixed order, so
        two trees' runs can be checked for identical decisions."""
        return {name: hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()[:16]
                for name, lines in (("placements", self.placements),
                                    ("messages", self.messages), ("victims", self.victims))}


class NullRecorder:
    def event(self, obj: Mapping[str, Any], type: str, reason: str, message: str) -> None:
        return None


def node(index: int) -> dict[str, Any]:
    name = f"node-{index}"
    labels = {HOSTNAME: name, ZONE: f"zone-{index % 10}"}
    if index % 2 == 0:
        labels["disktype"] = "ssd"
    return {"metadata": {"name": name, "labels": labels},
            "status": {"allocatable": {"cpu": "4", "memory": "32Gi", "pods": "110"}}}


def pod(name: str, *, namespace: str = "sched-1", labels: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None, node_name: str = "") -> dict[str, Any]:
    spec: dict[str, Any] = {
        "schedulerName": "default-scheduler",
        "containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.10",
                        "resources": {"requests": {"cpu": "100m", "memory": "500Mi"}}}],
        **(extra or {})}
    if node_name:
        spec["nodeName"] = node_name
    return {"metadata": {"name": name, "namespace": namespace, "uid": f"{namespace}-{name}",
                         "labels": dict(labels or {}),
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": spec}


def _anti_affinity() -> dict[str, Any]:
    return {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"color": "green"}}, "topologyKey": HOSTNAME,
         "namespaces": ["sched-0", "sched-1"]}]}}}


def _spread() -> dict[str, Any]:
    return {"topologySpreadConstraints": [
        {"maxSkew": 5, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule",
         "labelSelector": {"matchLabels": {"color": "blue"}}}]}


def _preferred() -> dict[str, Any]:
    return {"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 1, "preference": {"matchExpressions": [
            {"key": "disktype", "operator": "In", "values": ["ssd"]}]}}]}}}


Shape = tuple[dict[str, str], Callable[[], dict[str, Any]] | None]
SHAPES: dict[str, Shape] = {
    "basic": ({}, None),
    "topology_spread": ({"color": "blue"}, _spread),
    "anti_affinity": ({"color": "green"}, _anti_affinity),
    "preferred_node_affinity": ({}, _preferred),
}


async def run_shape(shape: str, *, nodes: int, existing: int, measured: int) -> dict[str, Any]:
    labels, extra = SHAPES[shape]
    binder = FakeBinder()
    scheduler = Scheduler(binder=binder, recorder=NullRecorder(), seed=1)
    binder.scheduler = scheduler
    for index in range(nodes):
        scheduler.on_node_add(node(index))
    for index in range(existing):
        scheduler.on_pod_add(pod(f"init-{index}", namespace="sched-0", labels=labels,
                                 extra=extra() if extra else None,
                                 node_name=f"node-{(index * 7) % nodes}"))
    pods = [pod(f"pod-{i}", labels=labels, extra=extra() if extra else None)
            for i in range(measured)]
    gc.collect()
    gc.freeze()
    started = time.perf_counter()
    for item in pods:
        scheduler.on_pod_add(item)
    await scheduler.run_until_idle()
    seconds = time.perf_counter() - started
    gc.unfreeze()
    rate = binder.bound / seconds
    target = TARGETS[shape]
    return {"nodes": nodes, "existing": existing, "measured": measured, "bound": binder.bound,
            "unschedulable": binder.unschedulable, "seconds": round(seconds, 3),
            "pods_per_s": round(rate, 1), "target": target,
            "meets_target": None if target is None else rate >= target,
            "digests": binder.digests()}


def baseline_call_ns() -> float:
    class Probe:
        def check(self, value: int) -> int:
            return value

    probe, loops = Probe(), 1_000_000
    started = time.perf_counter()
    for index in range(loops):
        probe.check(index)
    return round((time.perf_counter() - started) / loops * 1e9, 1)


def compare(against: str, argv: list[str], rounds: int) -> dict[str, Any]:
    """This tree and the one under ``against``, run alternately in subprocesses (so both
    see the same machine load); per shape, each tree's best pods/s and their ratio."""
    trees = {"baseline": against, "current": str(Path(__file__).resolve().parents[1] / "src")}
    best: dict[str, dict[str, float]] = {name: {} for name in trees}
    digests: dict[str, dict[str, Any]] = {name: {} for name in trees}
    for _ in range(rounds):
        for name, tree in trees.items():
            done = subprocess.run([sys.executable, __file__, *argv], check=True, text=True,
                                  stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": tree})
            for shape, result in json.loads(done.stdout.splitlines()[-1]).items():
                if isinstance(result, dict):
                    best[name][shape] = max(best[name].get(shape, 0.0), result["pods_per_s"])
                    digests[name][shape] = result.get("digests")
    return {"bench": "scheduler_core_compare", "against": against, "rounds": rounds, **best,
            "speedup": {shape: round(rate / best["baseline"][shape], 2)
                        for shape, rate in best["current"].items() if best["baseline"].get(shape)},
            "same_decisions": {shape: found == digests["baseline"].get(shape)
                               for shape, found in digests["current"].items()}}


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--shape", choices=sorted(SHAPES), action="append")
    parser.add_argument("--against", metavar="SRC",
                        help="also run another tree's steersman (the src folder of, e.g., "
                             "`git archive HEAD src | tar -x -C /tmp/base`) and compare")
    parser.add_argument("--rounds", type=int, default=2, help="with --against")
    args = parser.parse_args(argv)
    if args.against:
        forwarded = ["--quick"] * args.quick + [
            word for shape in args.shape or () for word in ("--shape", shape)]
        print(json.dumps(compare(args.against, forwarded, args.rounds)))
        return
    scale = 10 if args.quick else 1
    results: dict[str, Any] = {"bench": "scheduler_core", "baseline_call_ns": baseline_call_ns()}
    for shape in args.shape or list(SHAPES):
        measured = (2000 if shape == "anti_affinity" else 10000) // scale
        results[shape] = await run_shape(shape, nodes=5000 // scale, existing=1000 // scale,
                                         measured=measured)
        print(f"{shape}: {results[shape]}", file=sys.stderr)
    print(json.dumps(results))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
