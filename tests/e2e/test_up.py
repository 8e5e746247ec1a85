"""`steersman up`: one command, a whole local cluster whose node runs pods at once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from steersman.kubelet.runtime.registry import new_runtime
from tests.tools import need_tool


def _kubectl(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": str(data_dir / "admin.kubeconfig")}
    return subprocess.run([need_tool("kubectl"), "--cache-dir", str(data_dir / "kc"), *args],
                          capture_output=True, text=True, timeout=60, env=env, check=False)


def _wait(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what} not reached within {timeout}s"
        time.sleep(0.2)


async def _remove_containers(state_dir: Path) -> None:
    runtime = new_runtime("process", state_dir=state_dir)
    for sandbox in await runtime.list_sandboxes():
        await runtime.remove_sandbox(sandbox.id)


_OTHER_CONTEXT = """apiVersion: v1
kind: Config
clusters: [{name: other, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: other, user: {token: abc}}]
contexts: [{name: other, context: {cluster: other, user: other}}]
current-context: other
"""


def _start_up(data_dir: Path, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "steersman", "up", "--port", "0", "--data-dir",
             str(data_dir), "--name", "t", *extra],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _stop_up(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=40)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _pod(data_dir: Path, name: str) -> dict[str, Any]:
    out = _kubectl(data_dir, "get", "pod", name, "-o", "json").stdout
    return json.loads(out) if out else {}


def _running(data_dir: Path, name: str) -> bool:
    return (_pod(data_dir, name).get("status") or {}).get("phase") == "Running"


async def _running_containers(state_dir: Path) -> list[str]:
    runtime = new_runtime("process", state_dir=state_dir)
    return [c.id for c in await runtime.list_containers() if c.state.value == "running"]


def test_up_runs_pods_stops_them_on_exit_and_resumes(tmp_path: Path) -> None:
    data_dir = tmp_path / "cluster"
    log = tmp_path / "up.log"
    state_dir = data_dir / "nodes" / "t-node-0" / "runtime"
    merged = tmp_path / "home" / ".kube" / "config"
    merged.parent.mkdir(parents=True)
    merged.write_text(_OTHER_CONTEXT)
    process = _start_up(data_dir, log, "--merge-kubeconfig", str(merged))
    try:
        _wait(lambda: "export KUBECONFIG=" in log.read_text(), 60, "the export line")
        assert f"export KUBECONFIG={data_dir / 'admin.kubeconfig'}" in log.read_text()
        _wait(lambda: "Ready" in _kubectl(data_dir, "get", "node", "t-node-0").stdout, 30,
              "a Ready node")
        created = _kubectl(data_dir, "run", "hello", "--image=busybox", "--restart=Never",
                           "--", "sh", "-c", "echo hi; sleep 60")
        assert created.returncode == 0, created.stderr
        _wait(lambda: _running(data_dir, "hello"), 60, "a Running pod")
        pod = _pod(data_dir, "hello")
        assert pod["status"]["podIP"].startswith("127.42.")
        assert pod["spec"]["nodeName"] == "t-node-0"
        _check_merged_kubeconfig(merged, data_dir)

        # Ctrl-C stops the pods with the cluster; the next `up` resumes both.
        _kubectl(data_dir, "run", "keep", "--image=busybox", "--restart=Always", "--",
                 "sleep", "3600")
        _wait(lambda: _running(data_dir, "keep"), 60, "the restartable pod Running")
        assert len(asyncio.run(_running_containers(state_dir))) == 2
        _stop_up(process)
        assert process.returncode == 0, log.read_text()[-2000:]
        assert asyncio.run(_running_containers(state_dir)) == []

        process = _start_up(data_dir, log)
        _wait(lambda: _pod(data_dir, "keep").get("status", {}).get("containerStatuses", [{}])
              [0].get("restartCount", 0) >= 1 and _running(data_dir, "keep"), 60,
              "the pod restarted by the resumed cluster")
    finally:
        _stop_up(process)
        asyncio.run(_remove_containers(state_dir))


def _check_merged_kubeconfig(merged: Path, data_dir: Path) -> None:
    """``--merge-kubeconfig``: the cluster's context is added and current; others stay."""
    env = {**os.environ, "KUBECONFIG": str(merged)}
    contexts = subprocess.run([need_tool("kubectl"), "config", "get-contexts", "-o", "name"],
                              capture_output=True, text=True, env=env, check=True).stdout
    assert set(contexts.split()) == {"other", "steersman-t"}
    nodes = subprocess.run([need_tool("kubectl"), "--cache-dir", str(data_dir / "kc2"), "get",
                            "nodes", "-o", "name"], capture_output=True, text=True, env=env,
                           timeout=60, check=True).stdout
    assert nodes.split() == ["node/t-node-0"]
