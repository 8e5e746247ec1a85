"""kubectl logs, exec, attach, cp and port-forward against the real node agents of ``steersman up``.

One ``steersman up --nodes 2`` (process runtime, host networking) for the module: the API
server proxies to each agent's streaming server, which runs pods' commands as host
processes — so paths in ``cp`` and in the pods' commands are host paths under the test's
temporary directory.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import ServerProcess
from tests.e2e.up_cluster import eventually, running_up
from tests.tools import need_tool

LINE_BYTES, ROTATED_LINES = 1000, 11_000  # ~11.4 MB of records: past the 10Mi rotation size


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_up(tmp_path_factory.mktemp("up") / "data", nodes=2) as running:
        yield running


@pytest.fixture
def namespace(cluster: ServerProcess) -> str:
    name = f"t-{uuid.uuid4().hex[:8]}"
    cluster.kubectl("create", "namespace", name)
    return name


def _pod(cluster: ServerProcess, namespace: str, name: str, command: list[str], *,
         restart: str = "Never", node: str = "", env: list[Any] | None = None,
         **container: Any) -> None:
    spec: dict[str, Any] = {"restartPolicy": restart, "containers": [
        {"name": "c", "image": "busybox", "command": command, "env": env or [], **container}]}
    if node:
        spec["nodeName"] = node
    cluster.kubectl("create", "-n", namespace, "-f", "-", input=json.dumps(
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}))


def _wait_phase(cluster: ServerProcess, namespace: str, name: str, phase: str) -> None:
    cluster.kubectl("wait", "-n", namespace, f"pod/{name}", "--timeout=60s",
                    f"--for=jsonpath={{.status.phase}}={phase}", timeout=90)


def _sleeper(cluster: ServerProcess, namespace: str, node: str = "") -> str:
    _pod(cluster, namespace, "sleeper", ["sh", "-c", "echo started; exec sleep 3600"],
         node=node)
    _wait_phase(cluster, namespace, "sleeper", "Running")
    return "sleeper"


def test_every_node_publishes_its_own_endpoint(cluster: ServerProcess, namespace: str) -> None:
    nodes = json.loads(cluster.kubectl("get", "nodes", "-o", "json").stdout)["items"]
    endpoints = {(_internal_ip(n), n["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"])
                 for n in nodes}
    assert len(endpoints) == 2 and all(port > 0 for _, port in endpoints)
    second = sorted(n["metadata"]["name"] for n in nodes)[1]
    pod = _sleeper(cluster, namespace, node=second)
    assert cluster.kubectl("exec", "-n", namespace, pod, "--", "echo", "hi").stdout == "hi\n"


def _internal_ip(node: dict[str, Any]) -> str:
    return next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")


def test_logs_tail_since_timestamps_and_follow(cluster: ServerProcess, namespace: str) -> None:
    _pod(cluster, namespace, "talker",
         ["sh", "-c", "for i in 1 2 3 4 5; do echo line $i; sleep 0.3; done; echo oops >&2"])
    _wait_phase(cluster, namespace, "talker", "Running")  # else: "waiting to start"
    followed = cluster.kubectl("logs", "-f", "-n", namespace, "talker", timeout=60)
    lines = [f"line {i}" for i in range(1, 6)]
    assert followed.stdout.splitlines() in (lines, [*lines, "oops"])
    _wait_phase(cluster, namespace, "talker", "Succeeded")
    full = cluster.kubectl("logs", "-n", namespace, "talker").stdout
    assert full == "\n".join([*lines, "oops"]) + "\n"
    assert cluster.kubectl("logs", "-n", namespace, "talker", "--tail=2").stdout == \
        "line 5\noops\n"
    stamped = cluster.kubectl("logs", "-n", namespace, "talker", "--timestamps", "--tail=1")
    stamp, _, text = stamped.stdout.strip().partition(" ")
    assert text == "oops" and stamp.endswith("Z") and len(stamp) == 30
    assert cluster.kubectl("logs", "-n", namespace, "talker", "--since=1h").stdout == full
    assert cluster.kubectl("logs", "-n", namespace, "talker",
                           "--since-time=2099-01-01T00:00:00Z").stdout == ""


def test_logs_previous_after_a_crash(cluster: ServerProcess, namespace: str,
                                     tmp_path: Path) -> None:
    marker = tmp_path / "crashed"
    _pod(cluster, namespace, "crasher", ["sh", "-c", (
        f"if [ -e {marker} ]; then echo second run; exec sleep 3600; fi; "
        f"touch {marker}; echo first run; exit 1")], restart="Always")

    def restarted_and_running() -> bool:
        pod = json.loads(cluster.kubectl("get", "pod", "-n", namespace, "crasher",
                                         "-o", "json").stdout)
        status = (pod["status"].get("containerStatuses") or [{}])[0]
        return status.get("restartCount", 0) >= 1 and "running" in status.get("state", {})

    eventually(restarted_and_running, 60, "a restarted, running container")
    assert cluster.kubectl("logs", "-n", namespace, "crasher").stdout == "second run\n"
    assert cluster.kubectl("logs", "-n", namespace, "crasher", "--previous").stdout == \
        "first run\n"
    sleeper = _sleeper(cluster, namespace)
    never = cluster.kubectl("logs", "-n", namespace, sleeper, "--previous", check=False)
    assert never.returncode != 0
    assert f'previous terminated container "c" in pod "{sleeper}" not found' in never.stderr


def test_logs_rotate_and_read_across_files(cluster: ServerProcess, namespace: str) -> None:
    program = f"for i in range({ROTATED_LINES}): print(f'{{i:06d}}' + 'x' * {LINE_BYTES})"
    _pod(cluster, namespace, "chatty", [sys.executable, "-c", program])
    _wait_phase(cluster, namespace, "chatty", "Succeeded")
    uid = cluster.kubectl("get", "pod", "-n", namespace, "chatty", "-o",
                          "jsonpath={.metadata.uid}").stdout
    live = next((cluster.data_dir / "nodes").glob(f"*/logs/{uid}/c/0.log"))
    assert live.with_name("0.log.1").stat().st_size <= 10 * 1024 * 1024
    lines = cluster.kubectl("logs", "-n", namespace, "chatty", timeout=120).stdout.splitlines()
    assert [line[:6] for line in lines] == [f"{i:06d}" for i in range(ROTATED_LINES)]
    assert cluster.kubectl("logs", "-n", namespace, "chatty", "--tail=1").stdout[:6] == \
        f"{ROTATED_LINES - 1:06d}"
    cluster.kubectl("delete", "pod", "-n", namespace, "chatty", "--wait=true", timeout=90)
    eventually(lambda: not live.parent.parent.exists(), 30, "the pod's logs removed")


def test_exec_exit_codes_stdin_and_errors(cluster: ServerProcess, namespace: str) -> None:
    pod = _sleeper(cluster, namespace)
    failed = cluster.kubectl("exec", "-n", namespace, pod, "--", "sh", "-c", "exit 3",
                             check=False)
    assert failed.returncode == 3 and "command terminated with exit code 3" in failed.stderr
    both = cluster.kubectl("exec", "-n", namespace, pod, "--", "sh", "-c",
                           "echo out; echo err >&2")
    assert (both.stdout, both.stderr) == ("out\n", "err\n")
    echoed = cluster.kubectl("exec", "-i", "-n", namespace, pod, "--", "sh", "-c",
                             "cat; echo done", input="from stdin\n")
    assert echoed.stdout == "from stdin\ndone\n"
    missing = cluster.kubectl("exec", "-n", namespace, pod, "--", "no-such-binary",
                              check=False)
    assert missing.returncode != 0
    assert 'exec: "no-such-binary": executable file not found in $PATH' in missing.stderr


def test_exec_with_a_terminal(cluster: ServerProcess, namespace: str) -> None:
    script = need_tool("script", "kubectl exec -it needs a terminal of its own")
    pod = _sleeper(cluster, namespace)
    command = (f"{need_tool('kubectl')} --kubeconfig {cluster.kubeconfig} --cache-dir "
               f"{cluster.data_dir / 'kubecache'} exec -it -n {namespace} {pod} -- "
               "sh -c 'test -t 0 && echo on-a-tty; : </dev/tty && echo controlling; "
               "read answer; echo got $answer; exit 4'")
    result = subprocess.run([script, "-qec", command, "/dev/null"], input="yes\n",
                            capture_output=True, text=True, timeout=60)
    # /dev/tty opens only for a process with a controlling terminal (job control, ^C).
    assert "on-a-tty" in result.stdout and "controlling" in result.stdout
    assert "got yes" in result.stdout
    assert result.returncode == 4


def test_attach_feeds_stdin_until_stdin_once_closes_it(cluster: ServerProcess,
                                                      namespace: str) -> None:
    _pod(cluster, namespace, "cat", ["cat"], stdin=True, stdinOnce=True)
    _wait_phase(cluster, namespace, "cat", "Running")
    attached = cluster.kubectl("attach", "-i", "-n", namespace, "cat", input="hello\n")
    assert attached.stdout == "hello\n"
    _wait_phase(cluster, namespace, "cat", "Succeeded")
    terminated = cluster.kubectl("get", "-n", namespace, "pod/cat", "-o",
                                 "jsonpath={.status.containerStatuses[0].state.terminated}")
    assert json.loads(terminated.stdout)["exitCode"] == 0


def test_attach_stdin_needs_a_container_created_with_stdin(cluster: ServerProcess,
                                                           namespace: str) -> None:
    pod = _sleeper(cluster, namespace)
    refused = cluster.kubectl("attach", "-i", "-n", namespace, pod, input="ignored\n",
                              check=False)
    assert refused.returncode != 0
    assert "was not created with stdin: true" in refused.stderr


def test_cp_both_directions(cluster: ServerProcess, namespace: str, tmp_path: Path) -> None:
    pod = _sleeper(cluster, namespace)
    remote = tmp_path / "in-pod"
    remote.mkdir()
    (tmp_path / "up.txt").write_text("uploaded\n")
    (tmp_path / "tree" / "sub").mkdir(parents=True)
    (tmp_path / "tree" / "sub" / "leaf.txt").write_text("leaf\n")
    cluster.kubectl("cp", str(tmp_path / "up.txt"), f"{namespace}/{pod}:{remote}/up.txt")
    cluster.kubectl("cp", str(tmp_path / "tree"), f"{namespace}/{pod}:{remote}/tree")
    assert (remote / "up.txt").read_text() == "uploaded\n"
    assert (remote / "tree" / "sub" / "leaf.txt").read_text() == "leaf\n"
    (remote / "down.txt").write_text("downloaded\n")
    cluster.kubectl("cp", f"{namespace}/{pod}:{remote}/down.txt", str(tmp_path / "down.txt"))
    assert (tmp_path / "down.txt").read_text() == "downloaded\n"


@pytest.mark.parametrize("websockets", ["true", "false"])
def test_port_forward(cluster: ServerProcess, namespace: str, tmp_path: Path,
                      websockets: str) -> None:
    (tmp_path / "page.txt").write_text("served from the pod\n")
    _pod(cluster, namespace, "web", [sys.executable, "-m", "http.server", "8080", "--bind",
                                     "$(POD_IP)", "--directory", str(tmp_path)],
         env=[{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
         readinessProbe={"tcpSocket": {"port": 8080}, "periodSeconds": 1})
    # Ready: the server listens (kubectl port-forward gives up after a refused connection).
    cluster.kubectl("wait", "-n", namespace, "pod/web", "--for=condition=Ready",
                    "--timeout=60s", timeout=90)
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig),
           "KUBECTL_PORT_FORWARD_WEBSOCKETS": websockets}
    forward = subprocess.Popen(
        [need_tool("kubectl"), "--cache-dir", str(cluster.data_dir / "kubecache"),
         "port-forward", "-n", namespace, "pod/web", "--address", "127.0.0.1", ":8080"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert forward.stdout is not None
        first = forward.stdout.readline()
        assert first.startswith("Forwarding from 127.0.0.1:"), first
        local = int(first.split("127.0.0.1:")[1].split()[0])
        for _ in range(3):
            assert _get(local) == "served from the pod\n"
    finally:
        forward.send_signal(signal.SIGINT)
        try:
            forward.wait(timeout=10)
        except subprocess.TimeoutExpired:
            forward.kill()
            forward.wait()


def _get(port: int) -> str:
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
    with direct.open(f"http://127.0.0.1:{port}/page.txt", timeout=10) as reply:
        return str(reply.read().decode())
