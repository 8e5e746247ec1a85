"""The scheduler in ``steersman server`` placing pods on hollow nodes, seen through kubectl.

Each test starts its own ``steersman hollow-nodes`` process (a unique name prefix), works in
its own namespace, and at the end removes its workloads, stops the process and deletes its
Node objects, so the next test's "0/N nodes are available" counts only its own nodes.
Covered: node selectors (a Deployment lands only on ``disktype=ssd`` nodes), required pod
anti-affinity on the hostname (the surplus replicas stay Pending with upstream's
FailedScheduling message in ``kubectl describe`` and ``kubectl get events``), a request no
node can satisfy ("Insufficient cpu"), and preemption of a low-priority pod by a
high-priority one on a full node.
"""

from __future__ import annotations

import json
import signal
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from steersman.controllers.registry import CONTROLLERS
from tests.e2e.harness import ServerProcess
from tests.e2e.test_hollow_nodes import HollowProcess, eventually, start_hollow

Object = dict[str, Any]
needs_deployments = pytest.mark.skipif(
    not {"deployment", "replicaset"} <= set(CONTROLLERS),
    reason="the Deployment and ReplicaSet controllers are not registered yet")


@dataclass
class Nodes:
    """One hollow-node process and the names of its nodes."""

    process: HollowProcess
    names: list[str]


@pytest.fixture
def start_nodes(server: ServerProcess, namespace: str) -> Iterator[Any]:
    started: list[Nodes] = []

    def start(count: int, *args: str) -> Nodes:
        prefix = f"n{uuid.uuid4().hex[:6]}"
        base = f"127.{90 + len(started)}"
        process = start_hollow(server, "--count", str(count), "--name-prefix", prefix,
                               "--pod-cidr-base", base, *args)
        nodes = Nodes(process, [f"{prefix}-{i}" for i in range(count)])
        started.append(nodes)
        return nodes

    yield start
    server.kubectl("delete", "deployments,pods", "--all", "-n", namespace,
                   "--cascade=foreground", "--wait=true", "--timeout=60s", timeout=90)
    for nodes in started:
        nodes.process.signal(signal.SIGTERM)
        server.kubectl("delete", "nodes", *nodes.names, "--wait=false")


def apply(server: ServerProcess, namespace: str, manifest: Object) -> None:
    server.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(manifest))


def deployment(name: str, replicas: int, pod_spec: Object) -> Object:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [container()], **pod_spec}}}}


def container(cpu: str = "10m") -> Object:
    return {"name": "app", "image": "pause:3.9", "resources": {"requests": {"cpu": cpu}}}


def bare_pod(name: str, *, cpu: str, **spec: Any) -> Object:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [container(cpu)], **spec}}


def pods(server: ServerProcess, namespace: str, selector: str = "") -> list[Object]:
    args = ["get", "pods", "-n", namespace, "-o", "json"]
    result = server.kubectl(*args, *(["-l", selector] if selector else []))
    items: list[Object] = json.loads(result.stdout)["items"]
    return items


def phases(items: list[Object]) -> list[str]:
    return sorted(str((p.get("status") or {}).get("phase")) for p in items)


@needs_deployments
def test_node_selector_places_replicas_only_on_matching_nodes(
        server: ServerProcess, namespace: str, start_nodes: Any) -> None:
    ssd = start_nodes(2, "--labels", "disktype=ssd")
    plain = start_nodes(2)
    apply(server, namespace, deployment("fast", 30, {"nodeSelector": {"disktype": "ssd"}}))

    def all_running() -> bool:
        return phases(pods(server, namespace, "app=fast")) == ["Running"] * 30

    eventually(all_running, 60, 0.5)
    placed = {p["spec"]["nodeName"] for p in pods(server, namespace, "app=fast")}
    assert placed <= set(ssd.names) and not placed & set(plain.names)
    assert placed == set(ssd.names), "30 replicas should spread over both ssd nodes"
    rows = server.kubectl("get", "pods", "-n", namespace, "-o", "wide",
                          "--no-headers").stdout.splitlines()
    assert all(row.split()[6] in ssd.names for row in rows)


@needs_deployments
def test_required_anti_affinity_leaves_surplus_replicas_pending(
        server: ServerProcess, namespace: str, start_nodes: Any) -> None:
    nodes = start_nodes(3)
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "spread"}},
         "topologyKey": "kubernetes.io/hostname"}]}}
    apply(server, namespace, deployment("spread", 5, {"affinity": anti}))

    def settled() -> bool:
        return phases(pods(server, namespace, "app=spread")) == [
            "Pending", "Pending", "Running", "Running", "Running"]

    eventually(settled, 60, 0.5)
    running = [p for p in pods(server, namespace, "app=spread")
               if p["status"]["phase"] == "Running"]
    assert sorted(p["spec"]["nodeName"] for p in running) == sorted(nodes.names)
    pending = next(p["metadata"]["name"] for p in pods(server, namespace, "app=spread")
                   if p["status"]["phase"] == "Pending")
    expected = ("0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. "
                "preemption: ")

    def reported() -> bool:
        return expected in server.kubectl("describe", "pod", pending, "-n", namespace).stdout

    eventually(reported, 30, 0.5)
    described = server.kubectl("describe", "pod", pending, "-n", namespace).stdout
    assert "FailedScheduling" in described and "default-scheduler" in described
    condition = next(c for c in pods(server, namespace, "app=spread")[0]["status"]
                     .get("conditions", []) if c["type"] == "PodScheduled")
    assert condition["status"] in ("True", "False")
    events = server.kubectl("get", "events", "-n", namespace,
                            "--field-selector", "reason=FailedScheduling").stdout
    assert "didn't match pod anti-affinity rules" in events


def test_a_pod_larger_than_any_node_stays_pending(
        server: ServerProcess, namespace: str, start_nodes: Any) -> None:
    start_nodes(2, "--cpu", "2")
    apply(server, namespace, bare_pod("giant", cpu="16"))

    def unschedulable() -> bool:
        status = pods(server, namespace)[0].get("status") or {}
        return any(c.get("reason") == "Unschedulable" for c in status.get("conditions", []))

    eventually(unschedulable, 30, 0.5)
    pod = pods(server, namespace)[0]
    assert pod["status"]["phase"] == "Pending" and "nodeName" not in pod["spec"]
    condition = next(c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled")
    assert condition["status"] == "False"
    assert condition["message"].startswith("0/2 nodes are available: 2 Insufficient cpu.")
    eventually(lambda: "Insufficient cpu" in server.kubectl(
        "describe", "pod", "giant", "-n", namespace).stdout, 30, 0.5)


def test_a_high_priority_pod_preempts_a_low_priority_one(
        server: ServerProcess, namespace: str, start_nodes: Any) -> None:
    pool = f"tiny-{uuid.uuid4().hex[:6]}"
    nodes = start_nodes(1, "--cpu", "1", "--labels", f"pool={pool}")
    selector = {"nodeSelector": {"pool": pool}}
    apply(server, namespace, bare_pod("low", cpu="800m", **selector))
    eventually(lambda: phases(pods(server, namespace)) == ["Running"], 30, 0.5)
    klass = f"high-{uuid.uuid4().hex[:6]}"
    server.kubectl("create", "priorityclass", klass, "--value", "1000000")
    try:
        apply(server, namespace, bare_pod("high", cpu="800m", priorityClassName=klass,
                                          **selector))

        def high_running() -> bool:
            items = {p["metadata"]["name"]: p for p in pods(server, namespace)}
            return "low" not in items and items.get("high", {}).get(
                "status", {}).get("phase") == "Running"

        eventually(high_running, 60, 0.5)
        high = pods(server, namespace)[0]
        assert high["spec"]["nodeName"] == nodes.names[0]
        assert high["spec"]["priority"] == 1000000
        events = server.kubectl("get", "events", "-n", namespace, "-o", "json").stdout
        preempted = [e for e in json.loads(events)["items"] if e["reason"] == "Preempted"]
        assert preempted and preempted[0]["involvedObject"]["name"] == "low"
        assert nodes.names[0] in preempted[0]["message"]
    finally:
        server.kubectl("delete", "priorityclass", klass)
