"""Update-path micro-benchmark: µs of server CPU per pod binding, status PUT, label PATCH and
Lease renewal.

The writes a pod costs the API server after its create, timed in process as
``create_path.py`` times creates (same wiring, same ~2 KB pod, same mocked requests, the
main thread's CPU time, an ``orjson`` baseline interleaved round by round):

* ``binding`` — the scheduler's ``POST pods/NAME/binding`` (a ``v1 Binding`` to a node);
* ``status`` — a hollow node's ``PUT pods/NAME/status``: the pod's metadata as its informer
  holds it (less managedFields), with the status that takes it to Running (phase, IPs,
  ``startTime``, conditions, container statuses;
  :func:`steersman.kubelet.hollow.pod_status.running_status`);
* ``patch`` — a strategic-merge ``PATCH pods/NAME`` that adds a label;
* ``lease`` — a hollow node's heartbeat, ``PUT leases/NAME`` in ``kube-node-lease``: the
  Lease as :func:`steersman.kubelet.lease.build_lease` makes it, at the resourceVersion of
  its last write, with only ``spec.renewTime`` moved on a second.

Each round creates fresh pods (untimed), then times their bindings, then their status
writes, then their patches, then one renewal of each of as many Leases (created before the
first round and renewed round after round, as heartbeats renew them); the watch cache
catches up between phases, untimed. The baseline is ``orjson`` loads plus dumps of the
status PUT's body, the least any of these could cost. Prints one JSON line: per operation
the median µs over the rounds and its ratio to the baseline. ``--profile PREFIX`` writes a
cProfile per operation to ``PREFIX.binding``, ``PREFIX.status``, ``PREFIX.patch`` and
``PREFIX.lease``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson

from api import pod_body as template_pod_body
from create_path import NAMESPACE, PATH, build_api, create_namespace, handler_for, make_request
from steersman.api.meta import format_micro_time, parse_time
from steersman.apiserver.app import APIServer
from steersman.apiserver.watchcache import WatchCache
from steersman.kubelet.hollow.pod_status import running_status
from steersman.kubelet.hollow.pods import status_body as hollow_status_body
from steersman.kubelet.node_status import LEASE_NAMESPACE, build_lease

OPERATIONS = ("binding", "status", "patch", "lease")
PODS_PREFIX = "/registry/core/pods/"
LEASES_PREFIX = "/registry/coordination.k8s.io/leases/"
LEASES_PATH = f"/apis/coordination.k8s.io/v1/namespaces/{LEASE_NAMESPACE}/leases"
HOLLOW_AGENT = "hollow-node/v1.32"
STRATEGIC = "application/strategic-merge-patch+json"
Object = dict[str, Any]
# (method, path, content type, user agent, expected status, body) for pod number ``i``.
Write = tuple[str, str, str, str, int, bytes]


def pod_name(index: int) -> str:
    return f"pod-{index:07d}"


def node_name(index: int) -> str:
    return f"hollow-node-{index:07d}"


def node_uid(index: int) -> str:
    return f"00000000-0000-4000-8000-{index:012d}"


def binding_write(pod: Object, index: int) -> Write:
    meta = pod["metadata"]
    body = orjson.dumps({"apiVersion": "v1", "kind": "Binding",
                         "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                                      "uid": meta["uid"]},
                         "target": {"apiVersion": "v1", "kind": "Node",
                                    "name": f"hollow-node-{index % 500}"}})
    return ("POST", f"{PATH}/{meta['name']}/binding", "application/json", "scheduler/v1.32",
            201, body)


def status_body(pod: Object, index: int) -> bytes:
    """What a hollow node PUTs for its informer's pod: the Running status, with the pod's
    metadata (:func:`steersman.kubelet.hollow.pods.status_body`)."""
    pod_ip = f"10.{index // 65536 % 256}.{index // 256 % 256}.{index % 256}"
    status = running_status(pod, host_ip=f"192.168.{index // 256 % 256}.{index % 256}",
                            pod_ip=pod_ip, now="2026-11-29T12:00:00Z")
    return orjson.dumps(hollow_status_body(pod, status))


def status_write(pod: Object, index: int) -> Write:
    return ("PUT", f"{PATH}/{pod['metadata']['name']}/status", "application/json",
            HOLLOW_AGENT, 200, status_body(pod, index))


def patch_write(pod: Object, index: int) -> Write:
    body = orjson.dumps({"metadata": {"labels": {"bench.steersman.io/patched": str(index)}}})
    return ("PATCH", f"{PATH}/{pod['metadata']['name']}", STRATEGIC, "kubectl/v1.32", 200, body)


def lease_write(lease: Object, index: int) -> Write:
    """A heartbeat: the node's Lease at its last write's version, renewed a second later."""
    spec = lease["spec"]
    renewed = parse_time(spec["renewTime"]) + timedelta(seconds=1)
    body = build_lease(node_name(index), node_uid=node_uid(index),
                       duration_seconds=spec["leaseDurationSeconds"], now_seconds=0.0,
                       resource_version=lease["metadata"]["resourceVersion"])
    body["spec"]["renewTime"] = format_micro_time(renewed)
    return ("PUT", f"{LEASES_PATH}/{node_name(index)}", "application/json", HOLLOW_AGENT, 200,
            orjson.dumps(body))


WRITES: dict[str, Callable[[Object, int], Write]] = {
    "binding": binding_write, "status": status_write, "patch": patch_write,
    "lease": lease_write}
# Where each operation's object is cached, and its key there, for pod number ``i``.
TARGETS: dict[str, tuple[str, Callable[[int], str]]] = {
    "binding": (PODS_PREFIX, lambda i: f"{NAMESPACE}/{pod_name(i)}"),
    "status": (PODS_PREFIX, lambda i: f"{NAMESPACE}/{pod_name(i)}"),
    "patch": (PODS_PREFIX, lambda i: f"{NAMESPACE}/{pod_name(i)}"),
    "lease": (LEASES_PREFIX, lambda i: f"{LEASE_NAMESPACE}/{node_name(i)}")}


async def create_pods(api: APIServer, cache: WatchCache, token: str, start: int,
                      count: int) -> None:
    handle = handler_for(api)
    for index in range(start, start + count):
        response = await handle(make_request(template_pod_body(pod_name(index), NAMESPACE),
                                             token))
        if response.status != 201:
            raise RuntimeError(f"create answered {response.status}: {response.body!r}")
    await cache.sync()


async def create_leases(api: APIServer, cache: WatchCache, token: str, count: int) -> None:
    """The Leases of nodes ``0`` … ``count - 1``, renewed at the epoch, as nodes create them."""
    handle = handler_for(api)
    for index in range(count):
        lease = build_lease(node_name(index), node_uid=node_uid(index), duration_seconds=40,
                            now_seconds=0.0)
        response = await handle(make_request(orjson.dumps(lease), token, path=LEASES_PATH,
                                             user_agent=HOLLOW_AGENT))
        if response.status != 201:
            raise RuntimeError(f"create answered {response.status}: {response.body!r}")
    await cache.sync()


async def time_writes(api: APIServer, cache: WatchCache, token: str, operation: str,
                      start: int, count: int, profile: cProfile.Profile | None) -> float:
    """µs per write of ``operation`` on pods ``start`` … (Leases: on all of them; requests
    built first, untimed)."""
    handle = handler_for(api)
    prefix, key = TARGETS[operation]
    objects = cache.cache_for(prefix).objects
    indexes = range(count) if operation == "lease" else range(start, start + count)
    writes = [WRITES[operation](objects[f"{prefix}{key(i)}"], i) for i in indexes]
    requests = [make_request(body, token, method=method, path=path, content_type=content_type,
                             user_agent=agent)
                for method, path, content_type, agent, _, body in writes]
    gc.collect()
    if profile is not None:
        profile.enable()
    began = time.thread_time()
    for request, write in zip(requests, writes, strict=True):
        response = await handle(request)
        if response.status != write[4]:
            raise RuntimeError(f"{operation} answered {response.status}: {response.body!r}")
    took = time.thread_time() - began
    if profile is not None:
        profile.disable()
    await cache.sync()
    return took / count * 1e6


def baseline_round(cache: WatchCache, start: int, count: int) -> float:
    """µs per orjson loads + dumps of a status PUT's body."""
    objects = cache.cache_for(PODS_PREFIX).objects
    bodies = [status_body(objects[f"{PODS_PREFIX}{NAMESPACE}/{pod_name(i)}"], i)
              for i in range(start, start + count)]
    gc.collect()
    began = time.thread_time()
    for body in bodies:
        orjson.dumps(orjson.loads(body))
    return (time.thread_time() - began) / count * 1e6


async def run(rounds: int, per_round: int, profile_prefix: str) -> dict[str, Any]:
    timings: dict[str, list[float]] = {operation: [] for operation in OPERATIONS}
    baselines: list[float] = []
    profiles = {operation: cProfile.Profile() for operation in OPERATIONS} if (
        profile_prefix) else {}
    with tempfile.TemporaryDirectory(prefix="update-path-") as tmp:
        api, cache, token = await build_api(Path(tmp))
        await create_namespace(api, token)
        await create_leases(api, cache, token, per_round)
        for index in range(rounds + 1):  # round 0 warms up
            start = index * per_round
            await create_pods(api, cache, token, start, per_round)
            if index:
                baselines.append(baseline_round(cache, start, per_round))
            for operation in OPERATIONS:
                took = await time_writes(api, cache, token, operation, start, per_round,
                                         profiles.get(operation) if index else None)
                if index:
                    timings[operation].append(took)
        await cache.close()
    for operation, profile in profiles.items():
        profile.dump_stats(f"{profile_prefix}.{operation}")
    baseline = statistics.median(baselines)
    result: dict[str, Any] = {"bench": "update_path", "rounds": rounds,
                              "writes_per_round": per_round,
                              "baseline_orjson_us": round(baseline, 2)}
    for operation, times in timings.items():
        result[f"{operation}_us"] = round(statistics.median(times), 1)
        result[f"{operation}_over_baseline"] = round(statistics.median(times) / baseline, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--per-round", type=int, default=300)
    parser.add_argument("--profile", default="",
                        help="write a cProfile per operation to PROFILE.<operation>")
    args = parser.parse_args()
    result = asyncio.run(run(args.rounds, args.per_round, args.profile))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

