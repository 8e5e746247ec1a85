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


def test_up_prints_export_line_and_runs_pods(tmp_path: Path) -> None:
    data_dir = tmp_path / "cluster"
    log = tmp_path / "up.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "steersman", "up", "--port", "0", "--data-dir",
             str(data_dir), "--name", "t"], stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
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
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        asyncio.run(_remove_containers(data_dir / "nodes" / "t-node-0" / "runtime"))
