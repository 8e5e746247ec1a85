"""``steersman agent --runtime process`` against a real server, driven with the real kubectl.

The agent runs the process runtime (:mod:`steersman.kubelet.runtime.process`) through
:mod:`steersman.kubelet.agent.runtime_adapter`. Pods run host tools (``sh``, ``sleep``);
the image is ignored by the process runtime. At the end the module removes every
container left in the agent's runtime state (a stopped agent leaves them running).
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

from steersman.kubelet.runtime.registry import new_runtime
from tests.e2e.harness import ServerProcess

Object = dict[str, Any]


@dataclass
class AgentProcess:
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)


def start_agent(server: ServerProcess, data_dir: Path) -> AgentProcess:
    log_path = data_dir.parent / f"agent-{uuid.uuid4().hex[:6]}.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "steersman", "-v", "agent", "--kubeconfig",
             str(server.kubeconfig), "--node-name", "node-a", "--runtime", "process",
             "--data-dir", str(data_dir), "--pod-cidr", "127.42.201.0/24"],
            stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    agent = AgentProcess(process, log_path)
    eventually(lambda: "registered" in agent.log() or process.poll() is not None, 30)
    assert process.poll() is None, agent.log()
    return agent


def eventually(check: Callable[[], bool], timeout: float, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


@pytest.fixture(scope="module")
def agent(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[AgentProcess]:
    data_dir = tmp_path_factory.mktemp("agent") / "data"
    running = start_agent(server, data_dir)
    running.data_dir = data_dir  # type: ignore[attr-defined]
    try:
        yield running
    finally:
        running.stop()
        server.kubectl("delete", "pods", "--all", "--all-namespaces", "--wait=false",
                       check=False)
        asyncio.run(remove_containers(data_dir / "runtime"))


async def remove_containers(state_dir: Path) -> None:
    """Leave no process behind: a stopped agent leaves its containers running by design."""
    runtime = new_runtime("process", state_dir=state_dir)
    for sandbox in await runtime.list_sandboxes():
        await runtime.remove_sandbox(sandbox.id)


def get_pod(server: ServerProcess, namespace: str, name: str) -> Object:
    out = server.kubectl("get", "pod", name, "-n", namespace, "-o", "json").stdout
    return json.loads(out)  # type: ignore[no-any-return]


def apply(server: ServerProcess, namespace: str, manifest: Object) -> None:
    server.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(manifest))


def pod_manifest(name: str, command: str, **container: Any) -> Object:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"terminationGracePeriodSeconds": 5, "containers": [
                {"name": "app", "image": "busybox", "command": ["sh", "-c", command],
                 **container}]}}


def app_status(server: ServerProcess, namespace: str, name: str) -> Object:
    statuses = (get_pod(server, namespace, name).get("status") or {}).get(
        "containerStatuses") or [{}]
    return statuses[0]  # type: ignore[no-any-return]


def test_a_pod_runs_with_a_loopback_pod_ip(server: ServerProcess, agent: AgentProcess,
                                           namespace: str) -> None:
    server.kubectl("run", "hello", "-n", namespace, "--image=busybox", "--restart=Never",
                   "--command", "--", "sh", "-c", "echo hello; sleep 3600")
    eventually(lambda: app_status(server, namespace, "hello").get("ready") is True, 30)
    pod = get_pod(server, namespace, "hello")
    assert pod["status"]["phase"] == "Running"
    assert pod["status"]["podIP"].startswith("127.42.201.")
    table = server.kubectl("get", "pod", "hello", "-n", namespace).stdout
    assert "1/1" in table and "Running" in table


def test_liveness_failure_restarts_the_container(server: ServerProcess, agent: AgentProcess,
                                                 namespace: str) -> None:
    apply(server, namespace, pod_manifest(
        "unlive", "sleep 3600",
        livenessProbe={"exec": {"command": ["false"]}, "periodSeconds": 1,
                       "failureThreshold": 1}))
    eventually(lambda: app_status(server, namespace, "unlive").get("restartCount", 0) >= 1, 40)


def test_readiness_probe_gates_ready(server: ServerProcess, agent: AgentProcess,
                                     namespace: str, tmp_path: Path) -> None:
    flag = tmp_path / "ready"
    apply(server, namespace, pod_manifest(
        "gated", "sleep 3600",
        readinessProbe={"exec": {"command": ["test", "-e", str(flag)]}, "periodSeconds": 1}))
    eventually(lambda: "running" in app_status(server, namespace, "gated").get("state", {}), 30)
    time.sleep(2)
    assert app_status(server, namespace, "gated")["ready"] is False
    flag.touch()
    eventually(lambda: app_status(server, namespace, "gated").get("ready") is True, 20)


GRPC_HEALTH_SERVER = """
import sys
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2_grpc

server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
server.add_insecure_port(f"{sys.argv[1]}:50051")
server.start()
server.wait_for_termination()
"""


def test_grpc_probes_gate_ready_and_restart_the_unhealthy(
        server: ServerProcess, agent: AgentProcess, namespace: str, tmp_path: Path) -> None:
    script = tmp_path / "health_server.py"
    script.write_text(GRPC_HEALTH_SERVER)
    pod_ip = [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}]
    apply(server, namespace, pod_manifest(
        "grpc-served", f"exec {sys.executable} {script} $(POD_IP)", env=pod_ip,
        readinessProbe={"grpc": {"port": 50051}, "periodSeconds": 1}))
    apply(server, namespace, pod_manifest(
        "grpc-unserved", "sleep 3600",
        livenessProbe={"grpc": {"port": 50051}, "periodSeconds": 1, "failureThreshold": 1}))
    eventually(lambda: app_status(server, namespace, "grpc-served").get("ready") is True, 30)
    eventually(lambda: app_status(server, namespace, "grpc-unserved").get(
        "restartCount", 0) >= 1, 40)
    assert 'Liveness probe failed: timeout: failed to connect service "127.42.201.' \
        in agent.log()


def test_a_crashing_container_goes_crash_loop_back_off(server: ServerProcess,
                                                       agent: AgentProcess,
                                                       namespace: str) -> None:
    apply(server, namespace, pod_manifest("crash", "exit 3"))
    eventually(lambda: app_status(server, namespace, "crash").get("state", {}).get(
        "waiting", {}).get("reason") == "CrashLoopBackOff", 40)
    assert app_status(server, namespace, "crash")["lastState"]["terminated"]["exitCode"] == 3


def test_delete_runs_pre_stop_within_the_grace(server: ServerProcess, agent: AgentProcess,
                                               namespace: str, tmp_path: Path) -> None:
    marker = tmp_path / "prestop"
    apply(server, namespace, pod_manifest(
        "graceful", "trap 'exit 0' TERM; sleep 3600 & wait",
        lifecycle={"preStop": {"exec": {"command": ["sh", "-c", f"touch {marker}"]}}}))
    eventually(lambda: app_status(server, namespace, "graceful").get("ready") is True, 30)
    started = time.monotonic()
    server.kubectl("delete", "pod", "graceful", "-n", namespace, timeout=30)
    assert time.monotonic() - started < 5 + 3
    assert marker.exists()


def test_config_map_volume_and_secret_env_reach_the_process(
        server: ServerProcess, agent: AgentProcess, namespace: str, tmp_path: Path) -> None:
    out = tmp_path / "seen"
    server.kubectl("create", "configmap", "cfg", "-n", namespace, "--from-literal=greeting=hi")
    server.kubectl("create", "secret", "generic", "creds", "-n", namespace,
                   "--from-literal=password=s3cret")
    # The process runtime has no mount namespace: the volume is at its host path, and a
    # workingDir under the mount path is mapped to it, so the file is read relative to it.
    manifest = pod_manifest(
        "configured", f'cat greeting > {out}; echo " $PASSWORD" >> {out}; sleep 3600',
        env=[{"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds",
                                                                 "key": "password"}}}],
        workingDir="/etc/cfg", volumeMounts=[{"name": "cfg", "mountPath": "/etc/cfg"}])
    manifest["spec"]["volumes"] = [{"name": "cfg", "configMap": {"name": "cfg"}}]
    apply(server, namespace, manifest)
    eventually(lambda: out.exists() and "s3cret" in out.read_text(), 30)
    assert out.read_text().split() == ["hi", "s3cret"]


def test_deployment_pods_survive_an_agent_restart(server: ServerProcess, agent: AgentProcess,
                                                  namespace: str) -> None:
    server.kubectl("create", "deployment", "web", "-n", namespace, "--image=busybox",
                   "--replicas=2", "--", "sh", "-c", "sleep 3600")

    def ready_pods() -> list[Object]:
        items = json.loads(server.kubectl("get", "pods", "-n", namespace, "-l", "app=web",
                                          "-o", "json").stdout)["items"]
        return [p for p in items
                if ((p.get("status") or {}).get("containerStatuses") or [{}])[0].get("ready")]

    eventually(lambda: len(ready_pods()) == 2, 40)
    before = {p["metadata"]["uid"]: p["status"]["containerStatuses"][0] for p in ready_pods()}
    agent.kill()
    restarted = start_agent(server, agent.data_dir)  # type: ignore[attr-defined]
    agent.process = restarted.process
    agent.log_path = restarted.log_path
    time.sleep(5)
    after = {p["metadata"]["uid"]: p["status"]["containerStatuses"][0] for p in ready_pods()}
    assert after.keys() == before.keys()
    for uid, status in before.items():
        assert after[uid]["containerID"] == status["containerID"]
        assert after[uid]["restartCount"] == status["restartCount"]
