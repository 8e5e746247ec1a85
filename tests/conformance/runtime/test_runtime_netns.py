"""Every runtime runs a sandbox's containers, and their execs, in its network namespace.

Bridge pod networking (``steersman.kubelet.network``) pins a namespace per pod and hands
its path to the runtime as ``PodSandboxConfig.netns_path``; crun and runc join it through
the OCI spec, the process runtime through its supervisor (and ``nsenter`` for exec). The
namespace here is this test's own and has no interfaces but loopback.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from steersman.kubelet.runtime.interface import PodSandboxConfig, RuntimeService
from tests.conformance.runtime.conftest import need_root
from tests.conformance.runtime.test_runtime_conformance import config, run_ready
from tests.tools import need_tool

pytestmark = pytest.mark.timeout(60)
SCRIPT = "readlink /proc/self/ns/net; trap 'exit 0' TERM; echo ready; while :; do sleep 0.05; done"


@pytest.fixture
def netns() -> Iterator[Path]:
    need_root("network namespaces")
    need_tool("ip", "apt install iproute2")
    need_tool("nsenter", "util-linux")
    name = f"steersman-test-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
    try:
        yield Path("/run/netns", name)
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)


async def test_containers_and_execs_join_the_sandbox_network_namespace(
        runtime: RuntimeService, rootfs: str, netns: Path) -> None:
    expected = f"net:[{os.stat(netns).st_ino}]"
    sandbox = await runtime.run_sandbox(PodSandboxConfig(
        name="pod", namespace="default", uid=f"uid-{uuid.uuid4().hex}", netns_path=str(netns)))
    container_id = await run_ready(runtime, sandbox, config(rootfs, SCRIPT))
    status = await runtime.container_status(container_id)
    assert _first_logged(Path(status.log_path)) == expected
    result = await runtime.exec_sync(container_id, ["readlink", "/proc/self/ns/net"], timeout=10)
    assert result.stdout.decode().strip() == expected
    await runtime.remove_sandbox(sandbox)


def _first_logged(log: Path) -> str:
    """The first line the container wrote, without its CRI prefix."""
    return log.read_bytes().splitlines()[0].split(b" ", 3)[3].decode()
