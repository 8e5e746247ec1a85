"""The node agent's usage collector (``steersman.kubelet.stats``) over every real runtime.

A container burning CPU in a loop is measured as the API server's ``metrics.k8s.io`` will
see it: from its own cgroup for the OCI runtimes, from its process group for the process
runtime. The figures are cumulative, so they only grow.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from steersman.kubelet.agent.runtime_adapter import RuntimeAdapter
from steersman.kubelet.runtime import cgroups
from steersman.kubelet.runtime.interface import RuntimeService
from steersman.kubelet.stats import ContainerUsage, UsageCollector
from steersman.kubelet.stats.cgroupfs import container_cgroup
from tests.conformance.runtime.test_runtime_conformance import config, new_pod, run

pytestmark = pytest.mark.timeout(60)
LABELS = {"io.kubernetes.pod.namespace": "default", "io.kubernetes.pod.name": "burner",
          "io.kubernetes.container.name": "main"}


async def test_a_busy_container_uses_cpu(runtime: RuntimeService, runtime_name: str,
                                         rootfs: str) -> None:
    pod = await new_pod(runtime)
    container = await run(runtime, pod, config(rootfs, "while :; do :; done", labels=LABELS))
    collector = UsageCollector(RuntimeAdapter(runtime, name=runtime_name, version="test"))
    first = await _usage(collector)
    deadline = time.monotonic() + 30
    while (later := await _usage(collector)).cpu_seconds <= first.cpu_seconds:
        assert time.monotonic() < deadline, "the busy container's CPU time never grew"
        await asyncio.sleep(0.1)
    assert (later.namespace, later.pod, later.container) == ("default", "burner", "main")
    assert later.memory_bytes > 0 and later.start_time > 0
    pid = (await runtime.container_status(container)).pid
    assert pid is not None
    own = container_cgroup(pid, container, cgroups.cgroup_mounts())
    assert (own is not None) == (runtime_name != "process")
    await runtime.stop_container(container, timeout=0)


async def _usage(collector: UsageCollector) -> ContainerUsage:
    snapshot = await collector.collect()
    assert snapshot.node_cpu_seconds > 0 and snapshot.node_memory_bytes > 0
    (usage,) = snapshot.containers
    return usage
