"""``steersman hollow-nodes`` against a real server, checked with kubectl and the Python client.

A hollow-node process registers three nodes; the tests bind pods to them through
``pods/binding`` (no scheduler needed), watch them go Running with a pod IP, delete them,
and read the nodes with the official client's strict models. The last test kills a second
hollow-node process and expects the node lifecycle controller to mark its node NotReady
and evict its pod.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from steersman.client import PODS, Client, load_kubeconfig
from steersman.controllers.registry import CONTROLLERS
from tests.e2e.harness import ServerProcess

Object = dict[str, Any]


@dataclass
class HollowProcess:
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal(self, sig: signal.Signals) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, sig)
            self.process.wait(timeout=15)


def start_hollow(server: ServerProcess, *args: str) -> HollowProcess:
    log_path = server.data_dir / f"hollow-{uuid.uuid4().hex[:6]}.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "steersman", "hollow-nodes", "--kubeconfig",
             str(server.kubeconfig), *args],
            stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    hollow = HollowProcess(process, log_path)
    eventually(lambda: "registered" in hollow.log() or process.poll() is not None, 30)
    assert process.poll() is None, hollow.log()
    return hollow


def eventually(check: Callable[[], bool], timeout: float, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


@pytest.fixture(scope="module")
def hollow(server: ServerProcess) -> Iterator[HollowProcess]:
    process = start_hollow(server, "--count", "3", "--labels", "disktype=ssd",
                           "--zones", "zone-a,zone-b")
    try:
        yield process
    finally:
        process.signal(signal.SIGTERM)


def get_json(server: ServerProcess, *args: str) -> Object:
    result: Object = json.loads(server.kubectl("get", *args, "-o", "json").stdout)
    return result


def create_bound_pod(server: ServerProcess, namespace: str, name: str, node: str,
                     **spec: Any) -> None:
    # A scheduler name nobody serves: this test binds the pod itself, as a scheduler would.
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
           "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}],
                    "schedulerName": "bound-by-test", **spec}}
    server.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(pod))
    binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name},
               "target": {"apiVersion": "v1", "kind": "Node", "name": node}}

    async def bind() -> None:
        async with Client(load_kubeconfig(server.kubeconfig)) as client:
            await client.post_subresource(PODS, name, "binding", binding, namespace=namespace)

    asyncio.run(bind())


def pod_phase(server: ServerProcess, namespace: str, name: str) -> str:
    return str(get_json(server, "pod", name, "-n", namespace).get("status", {}).get("phase"))


def test_nodes_register_ready_with_labels(server: ServerProcess, hollow: HollowProcess) -> None:
    eventually(lambda: len(server.kubectl("get", "nodes", "-l", "disktype=ssd", "--no-headers")
                           .stdout.splitlines()) == 3, 10)
    lines = server.kubectl("get", "nodes", "-o", "wide").stdout.splitlines()
    assert lines[0].split()[:6] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP"]
    rows = sorted(line.split() for line in lines[1:] if line.startswith("hollow-"))
    assert [row[:2] for row in rows] == [[f"hollow-{i}", "Ready"] for i in range(3)]
    assert {row[4] for row in rows} == {"v1.32.4"}
    assert [row[5] for row in rows] == ["127.42.0.1", "127.42.1.1", "127.42.2.1"]
    assert "steersman-hollow://0.1" in lines[1]
    zones = server.kubectl("get", "nodes", "-l", "disktype=ssd", "-L",
                           "topology.kubernetes.io/zone", "--no-headers").stdout.splitlines()
    assert sorted((line.split()[0], line.split()[-1]) for line in zones) == [
        ("hollow-0", "zone-a"), ("hollow-1", "zone-b"), ("hollow-2", "zone-a")]


def test_leases_are_renewed(server: ServerProcess, hollow: HollowProcess) -> None:
    def renew_times() -> dict[str, str]:
        leases = get_json(server, "leases", "-n", "kube-node-lease")["items"]
        return {lease["metadata"]["name"]: lease["spec"]["renewTime"] for lease in leases
                if lease["metadata"]["name"].startswith("hollow-")}

    before = renew_times()
    assert sorted(before) == ["hollow-0", "hollow-1", "hollow-2"]
    eventually(lambda: all(renew_times()[name] != before[name] for name in before), 15, 1.0)
    lease = get_json(server, "lease", "hollow-0", "-n", "kube-node-lease")
    assert lease["spec"]["leaseDurationSeconds"] == 40
    assert lease["metadata"]["ownerReferences"][0]["kind"] == "Node"


def test_bound_pod_runs_with_a_pod_ip(server: ServerProcess, hollow: HollowProcess,
                                      namespace: str) -> None:
    create_bound_pod(server, namespace, "web", "hollow-1")
    eventually(lambda: pod_phase(server, namespace, "web") == "Running", 10)
    row = server.kubectl("get", "pod", "web", "-n", namespace, "-o", "wide",
                         "--no-headers").stdout.split()
    assert row[:3] == ["web", "1/1", "Running"]
    assert row[5].startswith("127.42.1.") and row[6] == "hollow-1"
    status = get_json(server, "pod", "web", "-n", namespace)["status"]
    assert status["hostIP"] == "127.42.1.1"
    assert status["containerStatuses"][0]["imageID"].startswith("docker-pullable://nginx@")


def test_kubectl_delete_pod_completes(server: ServerProcess, hollow: HollowProcess,
                                      namespace: str) -> None:
    create_bound_pod(server, namespace, "doomed", "hollow-2")
    eventually(lambda: pod_phase(server, namespace, "doomed") == "Running", 10)
    server.kubectl("delete", "pod", "doomed", "-n", namespace, "--timeout=20s", timeout=30)
    result = server.kubectl("get", "pod", "doomed", "-n", namespace, check=False)
    assert "NotFound" in result.stderr


def test_python_client_reads_nodes_and_pods(server: ServerProcess, hollow: HollowProcess,
                                            namespace: str) -> None:
    kubernetes = pytest.importorskip("kubernetes")
    create_bound_pod(server, namespace, "typed", "hollow-0",
                     initContainers=[{"name": "init", "image": "busybox"}])
    eventually(lambda: pod_phase(server, namespace, "typed") == "Running", 10)
    api = kubernetes.client.CoreV1Api(
        kubernetes.config.new_client_from_config(config_file=str(server.kubeconfig)))
    nodes = {n.metadata.name: n for n in api.list_node().items}
    info = nodes["hollow-0"].status.node_info
    assert (info.kubelet_version, info.operating_system) == ("v1.32.4", "linux")
    assert nodes["hollow-0"].status.daemon_endpoints.kubelet_endpoint.port == 10250
    pod = api.read_namespaced_pod("typed", namespace)
    assert pod.status.container_statuses[0].ready is True
    assert pod.status.init_container_statuses[0].state.terminated.reason == "Completed"


@pytest.mark.skipif("nodelifecycle" not in CONTROLLERS,
                    reason="the node lifecycle controller is not registered yet")
def _bind_victim_and_kill(server: ServerProcess, namespace: str, doomed: HollowProcess,
                         node: str) -> None:
    tolerations = [{"key": f"node.kubernetes.io/{key}", "operator": "Exists",
                    "effect": "NoExecute", "tolerationSeconds": 0}
                   for key in ("not-ready", "unreachable")]
    create_bound_pod(server, namespace, "victim", node, tolerations=tolerations)
    eventually(lambda: pod_phase(server, namespace, "victim") == "Running", 10)
    doomed.signal(signal.SIGKILL)


def test_killed_hollow_nodes_go_not_ready_and_their_pods_are_evicted(
        server: ServerProcess, hollow: HollowProcess, namespace: str) -> None:
    prefix = f"doomed{uuid.uuid4().hex[:4]}"
    doomed = start_hollow(server, "--count", "1", "--name-prefix", prefix,
                          "--pod-cidr-base", "127.80")
    try:
        _bind_victim_and_kill(server, namespace, doomed, f"{prefix}-0")
    finally:
        if doomed.process.poll() is None:
            doomed.process.kill()
        doomed.process.wait(timeout=10)
    node = f"{prefix}-0"

    def ready() -> str:
        conditions = get_json(server, "node", node)["status"]["conditions"]
        return next(c["status"] for c in conditions if c["type"] == "Ready")

    eventually(lambda: ready() != "True", 90, 1.0)
    assert server.kubectl("get", "node", node, "--no-headers").stdout.split()[1] == "NotReady"

    def evicted() -> bool:
        result = server.kubectl("get", "pod", "victim", "-n", namespace, "-o", "json",
                                check=False)
        return result.returncode != 0 or "deletionTimestamp" in json.loads(
            result.stdout)["metadata"]
    eventually(evicted, 30, 1.0)
    server.kubectl("delete", "node", node)
