"""The ``kubernetes`` Python client's exec, port-forward and logs against ``steersman up``.

One ``steersman up`` (process runtime, host networking) for the module; the client's
``stream()`` speaks the WebSocket channel protocol (v5 when it can: stdin close), its
``portforward()`` the port-forward channel protocol. Pods run host commands.
"""

from __future__ import annotations

import json
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.stream import portforward, stream

from tests.e2e.harness import ServerProcess
from tests.e2e.up_cluster import eventually, running_up


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_up(tmp_path_factory.mktemp("up") / "data") as running:
        yield running


@pytest.fixture(scope="module")
def core(cluster: ServerProcess) -> Iterator[client.CoreV1Api]:
    api_client = config.new_client_from_config(config_file=str(cluster.kubeconfig))
    try:
        yield client.CoreV1Api(api_client)
    finally:
        api_client.close()


@pytest.fixture
def namespace(core: client.CoreV1Api) -> str:
    name = f"t-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}})
    return name


def _run_pod(core: client.CoreV1Api, namespace: str, name: str, command: list[str], *,
             restart: str = "Never", env: list[Any] | None = None) -> None:
    core.create_namespaced_pod(namespace, {"metadata": {"name": name}, "spec": {
        "restartPolicy": restart,
        "containers": [{"name": "c", "image": "busybox", "command": command,
                        "env": env or []}]}})
    eventually(lambda: _phase(core, namespace, name) == "Running", 60, f"pod {name} Running")


def _phase(core: client.CoreV1Api, namespace: str, name: str) -> str:
    return str(core.read_namespaced_pod(name, namespace).status.phase)


@pytest.fixture
def sleeper(core: client.CoreV1Api, namespace: str) -> str:
    _run_pod(core, namespace, "sleeper", ["sh", "-c", "echo started; exec sleep 3600"])
    return "sleeper"


def test_exec_exit_code_and_streams(core: client.CoreV1Api, namespace: str,
                                    sleeper: str) -> None:
    resp = stream(core.connect_get_namespaced_pod_exec, sleeper, namespace,
                  command=["sh", "-c", "echo out; echo err >&2; exit 5"], stderr=True,
                  stdin=False, stdout=True, tty=False, _preload_content=False)
    resp.run_forever(timeout=30)
    assert resp.returncode == 5
    assert (resp.read_stdout(), resp.read_stderr()) == ("out\n", "err\n")
    plain = stream(core.connect_get_namespaced_pod_exec, sleeper, namespace,
                   command=["echo", "plain"], stderr=True, stdin=False, stdout=True, tty=False)
    assert plain == "plain\n"
    ok = stream(core.connect_get_namespaced_pod_exec, sleeper, namespace, command=["true"],
                stderr=True, stdin=False, stdout=True, tty=False, _preload_content=False)
    ok.run_forever(timeout=30)
    assert ok.returncode == 0


def test_exec_stdin_until_closed(core: client.CoreV1Api, namespace: str, sleeper: str) -> None:
    resp = stream(core.connect_get_namespaced_pod_exec, sleeper, namespace,
                  command=["sh", "-c", "wc -l; echo closed"], stderr=True, stdin=True,
                  stdout=True, tty=False, _preload_content=False)
    resp.write_stdin("one\ntwo\n")
    resp.close_channel(0)
    resp.run_forever(timeout=30)
    assert resp.returncode == 0
    assert resp.read_stdout().split() == ["2", "closed"]


def test_exec_of_a_missing_command_says_so(core: client.CoreV1Api, namespace: str,
                                           sleeper: str) -> None:
    resp = stream(core.connect_get_namespaced_pod_exec, sleeper, namespace,
                  command=["no-such-binary"], stderr=True, stdin=False, stdout=True,
                  tty=False, _preload_content=False)
    resp.run_forever(timeout=30)
    error = json.loads(resp.read_channel(3))
    assert error["status"] == "Failure"
    assert 'exec: "no-such-binary": executable file not found in $PATH' in error["message"]


def test_port_forward(core: client.CoreV1Api, namespace: str, tmp_path: Path) -> None:
    (tmp_path / "page.txt").write_text("from the pod")
    _run_pod(core, namespace, "web", [sys.executable, "-m", "http.server", "8080", "--bind",
                                      "$(POD_IP)", "--directory", str(tmp_path)],
             env=[{"name": "POD_IP",
                   "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}])
    eventually(lambda: _fetch_or_nothing(core, namespace, 8080).endswith(b"from the pod"), 30,
               "the page through port-forward")
    forward = portforward(core.connect_get_namespaced_pod_portforward, "web", namespace,
                          ports="8081")
    try:
        dead = forward.socket(8081)
        dead.setblocking(True)
        assert dead.recv(1024) == b""
        deadline = time.monotonic() + 10
        while forward.error(8081) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "error forwarding port 8081" in (forward.error(8081) or "")
    finally:
        forward.close()


def _fetch_or_nothing(core: client.CoreV1Api, namespace: str, port: int) -> bytes:
    """:func:`_fetch`, or nothing while the pod's server is not listening yet: the forward
    then closes its end, and the request meets a broken pipe or a reset."""
    try:
        return _fetch(core, namespace, port)
    except OSError:
        return b""


def _fetch(core: client.CoreV1Api, namespace: str, port: int) -> bytes:
    forward = portforward(core.connect_get_namespaced_pod_portforward, "web", namespace,
                          ports=str(port))
    try:
        sock: socket.socket = forward.socket(port)
        sock.setblocking(True)
        sock.sendall(b"GET /page.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
        return reply
    finally:
        forward.close()


def test_read_logs_tail_timestamps_previous(core: client.CoreV1Api, namespace: str,
                                            tmp_path: Path) -> None:
    marker = tmp_path / "crashed"
    _run_pod(core, namespace, "crasher", ["sh", "-c", (
        f"if [ -e {marker} ]; then echo second; echo again; exec sleep 3600; fi; "
        f"touch {marker}; echo first; exit 1")], restart="Always")

    def restarted() -> bool:
        statuses = core.read_namespaced_pod("crasher", namespace).status.container_statuses
        return bool(statuses) and statuses[0].restart_count >= 1 and \
            statuses[0].state.running is not None

    eventually(restarted, 60, "a restarted, running container")
    assert core.read_namespaced_pod_log("crasher", namespace) == "second\nagain\n"
    assert core.read_namespaced_pod_log("crasher", namespace, tail_lines=1) == "again\n"
    assert core.read_namespaced_pod_log("crasher", namespace, previous=True) == "first\n"
    stamped = core.read_namespaced_pod_log("crasher", namespace, timestamps=True, tail_lines=1)
    assert stamped.endswith("Z again\n")
    assert core.read_namespaced_pod_log("crasher", namespace, since_seconds=3600) == \
        "second\nagain\n"
    with pytest.raises(ApiException) as bad:
        core.read_namespaced_pod_log("crasher", namespace, container="nope")
    assert bad.value.status == 400
    assert "container nope is not valid for pod crasher" in str(bad.value.body)
