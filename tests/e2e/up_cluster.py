"""A real ``steersman up`` (control plane + node agents, process runtime) for end-to-end tests.

:func:`running_up` starts it with its own data dir, an ephemeral API port and a unique
cluster name, waits for the ``export KUBECONFIG=`` line (printed once the nodes are
registered) and every node to be Ready, and at the end stops it by PID and removes every
container its nodes left running (a stopped agent leaves them for the next one to adopt).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from steersman.kubelet.runtime.registry import new_runtime
from tests.e2e.harness import ServerProcess


def eventually(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} not reached within {timeout}s"
        time.sleep(0.1)


@contextmanager
def running_up(data_dir: Path, *, nodes: int = 1) -> Iterator[ServerProcess]:
    """``steersman up --nodes N`` until the block ends; yields it as a ServerProcess."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "up.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "steersman", "up", "--port", "0", "--data-dir",
             str(data_dir), "--name", f"s{uuid.uuid4().hex[:6]}", "--nodes", str(nodes)],
            stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    cluster = ServerProcess(data_dir, process, log_path)
    try:
        eventually(lambda: "export KUBECONFIG=" in cluster.log_tail(200)
                   or process.poll() is not None, 60, "the export line")
        assert process.poll() is None, cluster.log_tail()
        eventually(lambda: _ready_nodes(cluster) == nodes, 30, f"{nodes} Ready node(s)")
        yield cluster
    finally:
        cluster.stop()
        for state_dir in (data_dir / "nodes").glob("*/runtime"):
            asyncio.run(_remove_containers(state_dir))


def _ready_nodes(cluster: ServerProcess) -> int:
    out = cluster.kubectl("get", "nodes", "-o", "json").stdout
    return sum(1 for node in json.loads(out)["items"]
               for c in node["status"].get("conditions") or ()
               if c["type"] == "Ready" and c["status"] == "True")


async def _remove_containers(state_dir: Path) -> None:
    runtime = new_runtime("process", state_dir=state_dir)
    for sandbox in await runtime.list_sandboxes():
        await runtime.remove_sandbox(sandbox.id)
