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


def test_up_prints_export_line_and_runs_pods(tmp_path: Path) -> None:
    data_dir = tmp_path / "cluster"
    log = tmp_path / "up.log"
    merged = tmp_path / "home" / ".kube" / "config"
    merged.parent.mkdir(parents=True)
    merged.write_text(_OTHER_CONTEXT)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "steersman", "up", "--port", "0", "--data-dir",
             str(data_dir), "--name", "t", "--merge-kubeconfig", str(merged)],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait(lambda: "export KUBECONFIG=" in log.read_text(), 60, "the export line")
        assert f"export KUBECONFIG={data_dir / 'admin.kubeconfig'}" in log.read_text()
        _wait(lambda: "Ready" in _kubectl(data_dir, "get", "node", "t-node-0").stdout, 30,
              "a Ready node")
        created = _kubectl(data_dir, "run", "hello", "--image=busybox", "--restart=Never",
                           "--", "sh", "-c", "echo hi; sleep 60")
        assert created.returncode == 0, created.stderr

        def running() -> bool:
            out = _kubectl(data_dir, "get", "pod", "hello", "-o", "json").stdout
            return bool(out) and json.loads(out)["status"].get("phase") == "Running"

        _wait(running, 60, "a Running pod")
        pod = json.loads(_kubectl(data_dir, "get", "pod", "hello", "-o", "json").stdout)
        assert pod["status"]["podIP"].startswith("127.42.")
        assert pod["spec"]["nodeName"] == "t-node-0"
        _check_merged_kubeconfig(merged, data_dir)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        asyncio.run(_remove_containers(data_dir / "nodes" / "t-node-0" / "runtime"))


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
