"""logs, exec, cp, port-forward through a real server to a node's streaming server.

The real ``kubectl`` and the ``kubernetes`` Python client talk to a real ``steersman
server``, which proxies to a :class:`~tests.e2e.fake_node.FakeNode` registered as a Node.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config
from kubernetes.stream import portforward, stream

from steersman.apiserver.pki import Pki
from steersman.kubelet.runtime.crilog import CriLogWriter
from steersman.kubelet.streaming import ContainerTarget
from tests.e2e.fake_node import FakeNode
from tests.e2e.harness import ServerProcess

T0 = 1_795_000_000 * 1_000_000_000  # 2026-11-18T11:06:40Z, in nanoseconds


@pytest.fixture(scope="module")
def node(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeNode]:
    """A fake node's streaming server, registered as a Node pointing at it."""
    fake = FakeNode(tmp_path_factory.mktemp("node"), Pki.at(server.data_dir / "pki"))
    fake.start()
    name = fake.name = f"node-{uuid.uuid4().hex[:6]}"
    try:
        server.kubectl("create", "-f", "-", input=json.dumps(
            {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}))
        server.kubectl("patch", "node", name, "--subresource=status", "--type=merge", "-p",
                       json.dumps({"status": {
                           "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                           "daemonEndpoints": {"kubeletEndpoint": {"Port": fake.port}}}}))
        yield fake
    finally:
        fake.stop()


def _write_logs(path: Path, lines: list[str], *, max_bytes: int = 10_000) -> None:
    ticks = iter(range(len(lines) * 2))
    writer = CriLogWriter(path, max_bytes=max_bytes, max_files=5,
                               clock=lambda: T0 + next(ticks) * 1_000_000_000)
    for line in lines:
        writer.write("stdout", line.encode() + b"\n")
    writer.close()


@pytest.fixture
def pod(server: ServerProcess, node: FakeNode, namespace: str) -> str:
    logs = node.directory / namespace
    _write_logs(logs / "c.log", [f"line {i}" for i in range(1, 31)], max_bytes=400)
    _write_logs(logs / "c-previous.log", ["before the crash"])
    node.pods.add(namespace, "p", [ContainerTarget(
        "c", f"cid-{namespace}", log_path=logs / "c.log",
        previous_log_path=logs / "c-previous.log")])
    server.kubectl("create", "-n", namespace, "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"nodeName": node.name, "containers": [{"name": "c", "image": "busybox"}]}}))
    server.kubectl("patch", "pod", "p", "-n", namespace, "--subresource=status",
                   "--type=merge", "-p", json.dumps({"status": {"phase": "Running"}}))
    return "p"


def test_logs_tail_timestamps_previous_and_rotation(server: ServerProcess, node: FakeNode,
                                                    namespace: str, pod: str) -> None:
    assert list((node.directory / namespace).glob("c.log.*"))
    out = server.kubectl("logs", pod, "-n", namespace).stdout
    assert out.splitlines() == [f"line {i}" for i in range(1, 31)]
    assert server.kubectl("logs", pod, "-n", namespace, "--tail=2").stdout == "line 29\nline 30\n"
    stamped = server.kubectl("logs", pod, "-n", namespace, "--tail=1", "--timestamps").stdout
    assert stamped == "2026-11-18T11:07:09.000000000Z line 30\n"
    since = server.kubectl("logs", pod, "-n", namespace,
                           "--since-time=2026-11-18T11:07:07Z").stdout
    assert since.splitlines() == ["line 28", "line 29", "line 30"]
    assert server.kubectl("logs", pod, "-n", namespace, "--limit-bytes=9").stdout == "line 1\nli"
    assert server.kubectl("logs", pod, "-n", namespace, "-p").stdout == "before the crash\n"


def test_logs_errors(server: ServerProcess, namespace: str, pod: str) -> None:
    bad = server.kubectl("logs", pod, "-n", namespace, "-c", "nope", check=False)
    assert bad.returncode != 0 and "container nope is not valid for pod p" in bad.stderr
    missing = server.kubectl("logs", "ghost", "-n", namespace, check=False)
    assert 'pods "ghost" not found' in missing.stderr


def test_logs_follow_until_the_container_exits(server: ServerProcess, node: FakeNode,
                                               namespace: str, pod: str) -> None:
    path = node.directory / namespace / "c.log"
    follower = subprocess.Popen(
        [shutil.which("kubectl") or "kubectl", "--kubeconfig", str(server.kubeconfig), "logs",
         "-f", "--tail=1", pod, "-n", namespace], stdout=subprocess.PIPE, text=True)
    try:
        assert follower.stdout is not None
        assert follower.stdout.readline() == "line 30\n"
        writer = CriLogWriter(path, max_bytes=400, max_files=5)
        for i in range(31, 41):
            writer.write("stdout", f"line {i}\n".encode())
        writer.close()
        assert [follower.stdout.readline() for _ in range(10)] == [
            f"line {i}\n" for i in range(31, 41)]
        node.pods.running.discard(f"cid-{namespace}")
        assert follower.wait(timeout=10) == 0
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()


def test_exec_exit_code_stdin_and_errors(server: ServerProcess, namespace: str, pod: str) -> None:
    result = server.kubectl("exec", pod, "-n", namespace, "--", "sh", "-c", "exit 3", check=False)
    assert result.returncode == 3
    assert "command terminated with exit code 3" in result.stderr
    echoed = server.kubectl("exec", "-i", pod, "-n", namespace, "--", "cat", input="hi\n")
    assert echoed.stdout == "hi\n"
    both = server.kubectl("exec", pod, "-n", namespace, "--", "sh", "-c", "echo out; echo err >&2")
    assert both.stdout == "out\n" and both.stderr == "err\n"
    missing = server.kubectl("exec", pod, "-n", namespace, "--", "no-such-binary", check=False)
    assert missing.returncode != 0 and "no-such-binary" in missing.stderr


def test_exec_with_a_terminal(server: ServerProcess, namespace: str, pod: str) -> None:
    script = shutil.which("script")
    if script is None:
        pytest.skip("script (util-linux) is needed to give kubectl a terminal")
    command = (f"{shutil.which('kubectl')} --kubeconfig {server.kubeconfig} exec -it {pod} "
               f"-n {namespace} -- sh -c 'test -t 0 && echo on-a-tty; exit 4'")
    result = subprocess.run([script, "-qec", command, "/dev/null"], capture_output=True,
                            text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert "on-a-tty" in result.stdout
    assert result.returncode == 4


def test_cp_both_ways(server: ServerProcess, namespace: str, pod: str, tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    remote.mkdir()
    (tmp_path / "up.txt").write_text("uploaded\n")
    server.kubectl("cp", str(tmp_path / "up.txt"), f"{namespace}/{pod}:{remote}/up.txt")
    assert (remote / "up.txt").read_text() == "uploaded\n"
    (remote / "down.txt").write_text("downloaded\n")
    server.kubectl("cp", f"{namespace}/{pod}:{remote}/down.txt", str(tmp_path / "down.txt"))
    assert (tmp_path / "down.txt").read_text() == "downloaded\n"


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"hello from {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture(scope="module")
def web_port() -> Iterator[int]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("websockets", ["true", "false"])
def test_kubectl_port_forward(server: ServerProcess, namespace: str, pod: str, web_port: int,
                              websockets: str) -> None:
    local = _free_port()
    env = {**os.environ, "KUBECTL_PORT_FORWARD_WEBSOCKETS": websockets}
    forward = subprocess.Popen(
        [shutil.which("kubectl") or "kubectl", "--kubeconfig", str(server.kubeconfig),
         "port-forward", "-n", namespace, f"pod/{pod}", f"{local}:{web_port}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert forward.stdout is not None
        assert "Forwarding from 127.0.0.1" in forward.stdout.readline()
        for attempt in range(3):
            with urllib.request.urlopen(f"http://127.0.0.1:{local}/x{attempt}", timeout=10) as r:
                assert r.read() == f"hello from /x{attempt}".encode()
    finally:
        forward.send_signal(signal.SIGINT)
        try:
            forward.wait(timeout=10)
        except subprocess.TimeoutExpired:
            forward.kill()
            forward.wait()


@pytest.fixture(scope="module")
def core(server: ServerProcess) -> Iterator[client.CoreV1Api]:
    api_client = config.new_client_from_config(config_file=str(server.kubeconfig))
    try:
        yield client.CoreV1Api(api_client)
    finally:
        api_client.close()


def test_python_client_exec(core: client.CoreV1Api, namespace: str, pod: str) -> None:
    resp = stream(core.connect_get_namespaced_pod_exec, pod, namespace,
                  command=["sh", "-c", "echo out; exit 5"], stderr=True, stdin=False,
                  stdout=True, tty=False, _preload_content=False)
    resp.run_forever(timeout=30)
    assert resp.returncode == 5
    assert resp.read_all() == "out\n" or "out" in resp.read_all()
    plain = stream(core.connect_get_namespaced_pod_exec, pod, namespace,
                   command=["echo", "plain"], stderr=True, stdin=False, stdout=True, tty=False)
    assert plain == "plain\n"


def test_python_client_stdin_close(core: client.CoreV1Api, namespace: str, pod: str) -> None:
    resp = stream(core.connect_get_namespaced_pod_exec, pod, namespace, command=["cat"],
                  stderr=True, stdin=True, stdout=True, tty=False, _preload_content=False)
    resp.write_stdin("from python\n")
    resp.close_channel(0)
    resp.run_forever(timeout=30)
    assert resp.returncode == 0
    assert resp.read_all() == "from python\n"


def test_python_client_port_forward(core: client.CoreV1Api, namespace: str, pod: str,
                                    web_port: int) -> None:
    unbound = _free_port()
    forward = portforward(core.connect_get_namespaced_pod_portforward, pod, namespace,
                          ports=f"{web_port},{unbound}")
    sock = forward.socket(web_port)
    sock.setblocking(True)
    sock.sendall(b"GET /py HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    reply = b""
    while chunk := sock.recv(1024):
        reply += chunk
    assert reply.endswith(b"hello from /py")
    dead = forward.socket(unbound)
    dead.setblocking(True)
    assert dead.recv(1024) == b""
    deadline = time.monotonic() + 10
    while forward.error(unbound) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert f"error forwarding port {unbound}" in (forward.error(unbound) or "")
    forward.close()
