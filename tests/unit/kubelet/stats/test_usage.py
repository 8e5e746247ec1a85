"""Node and container usage from fake procfs and cgroup trees, rendered as /metrics/resource."""

from __future__ import annotations

from pathlib import Path

import pytest

from steersman.kubelet.agent.cri import (
    CONTAINER_NAME_LABEL,
    POD_NAME_LABEL,
    POD_NAMESPACE_LABEL,
    ContainerState,
    ContainerStatus,
)
from steersman.kubelet.runtime.cgroups import CgroupMount
from steersman.kubelet.stats import UsageCollector, render_resource_metrics
from steersman.kubelet.stats.procfs import CLOCK_TICKS, PAGE_SIZE, process_groups

MEMINFO = "MemTotal:       8000000 kB\nMemFree:  1000000 kB\nMemAvailable:   6000000 kB\n"


def _stat(pid: int, pgrp: int, *, comm: str = "sh", ticks: tuple[int, int, int, int],
          rss: int) -> str:
    # fields 3.. : state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
    #              utime stime cutime cstime priority nice threads itreal starttime vsize rss
    head = ["R", "1", str(pgrp), str(pgrp), "0", "-1", "0", "0", "0", "0", "0"]
    tail = ["20", "0", "1", "0", "100", "1000", str(rss)]
    return f"{pid} ({comm}) " + " ".join([*head, *map(str, ticks), *tail]) + "\n"


def _proc(root: Path, processes: dict[int, str], cgroups: dict[int, str]) -> Path:
    proc = root / "proc"
    proc.mkdir()
    busy = [10 * CLOCK_TICKS, 0, 5 * CLOCK_TICKS, 1000, 7, 1 * CLOCK_TICKS, 0, 0, 0, 0]
    (proc / "stat").write_text("cpu  " + " ".join(map(str, busy)) + "\ncpu0 1 2 3\n")
    (proc / "meminfo").write_text(MEMINFO)
    (proc / "self").mkdir()
    for pid, stat in processes.items():
        (proc / str(pid)).mkdir()
        (proc / str(pid) / "stat").write_text(stat)
        (proc / str(pid) / "cgroup").write_text(cgroups.get(pid, "4:memory:/\n0::/\n"))
    return proc


def _status(cid: str, pid: int, pod: str, name: str) -> ContainerStatus:
    return ContainerStatus(id=cid, sandbox_id="s", state=ContainerState.RUNNING, pid=pid,
                           started_at=1_700_000_000.0,
                           labels={POD_NAMESPACE_LABEL: "default", POD_NAME_LABEL: pod,
                                   CONTAINER_NAME_LABEL: name})


class Lister:
    def __init__(self, containers: list[ContainerStatus]) -> None:
        self.containers = containers

    async def list_containers(self) -> list[ContainerStatus]:
        return self.containers


def test_node_and_process_group_usage(tmp_path: Path) -> None:
    proc = _proc(tmp_path, {
        100: _stat(100, 100, comm="a (b) c", ticks=(200, 100, 0, 0), rss=10),
        101: _stat(101, 100, ticks=(50, 50, 100, 0), rss=5),
        300: _stat(300, 1, ticks=(999, 0, 0, 0), rss=99),
    }, {})
    groups = process_groups(proc)
    assert groups[100].cpu_seconds == pytest.approx(500 / CLOCK_TICKS)
    assert groups[100].memory_bytes == 15 * PAGE_SIZE


async def test_process_runtime_containers_are_their_process_groups(tmp_path: Path) -> None:
    proc = _proc(tmp_path, {100: _stat(100, 100, ticks=(300, 100, 0, 0), rss=10),
                            200: _stat(200, 200, ticks=(10, 0, 0, 0), rss=1)}, {})
    exited = ContainerStatus(id="x", sandbox_id="s", state=ContainerState.EXITED, pid=0)
    collector = UsageCollector(
        Lister([_status("c1", 100, "web", "app"), _status("c2", 200, "web", "side"), exited]),
        proc=proc, mounts=lambda: [], clock=lambda: 1_700_000_100.5)
    snapshot = await collector.collect()
    assert snapshot.node_cpu_seconds == pytest.approx(16.0)
    assert snapshot.node_memory_bytes == 2_000_000 * 1024
    assert [c.container for c in snapshot.containers] == ["app", "side"]
    assert snapshot.containers[0].cpu_seconds == pytest.approx(400 / CLOCK_TICKS)
    pod = snapshot.pods()[("default", "web")]
    assert pod.memory_bytes == 11 * PAGE_SIZE


def _cgroup_v1(tmp_path: Path, cid: str) -> list[CgroupMount]:
    cpu = tmp_path / "cg" / "cpuacct" / "steersman" / "uid1" / cid
    memory = tmp_path / "cg" / "memory" / "steersman" / "uid1" / cid
    cpu.mkdir(parents=True)
    memory.mkdir(parents=True)
    (cpu / "cpuacct.usage").write_text("2500000000\n")
    (memory / "memory.usage_in_bytes").write_text("10485760\n")
    (memory / "memory.stat").write_text("cache 1\ntotal_inactive_file 2097152\n")
    return [CgroupMount(tmp_path / "cg" / "cpuacct", 1, frozenset({"cpuacct"})),
            CgroupMount(tmp_path / "cg" / "memory", 1, frozenset({"memory"}))]


async def test_oci_containers_are_read_from_their_own_cgroup(tmp_path: Path) -> None:
    cid = "abc123"
    path = f"/steersman/uid1/{cid}"
    proc = _proc(tmp_path, {7: _stat(7, 7, ticks=(1, 0, 0, 0), rss=1)},
                 {7: f"4:memory:{path}\n2:cpuacct:{path}\n0::/\n"})
    mounts = _cgroup_v1(tmp_path, cid)
    collector = UsageCollector(Lister([_status(cid, 7, "db", "main")]), proc=proc,
                               mounts=lambda: mounts, clock=lambda: 1.0)
    (usage,) = (await collector.collect()).containers
    assert usage.cpu_seconds == pytest.approx(2.5)
    assert usage.memory_bytes == 8 * 1024 * 1024


async def test_cgroup_v2(tmp_path: Path) -> None:
    cid = "def456"
    directory = tmp_path / "cg" / "steersman" / "uid1" / cid
    directory.mkdir(parents=True)
    (directory / "cpu.stat").write_text("usage_usec 1500000\nuser_usec 1\n")
    (directory / "memory.current").write_text("4096000\n")
    (directory / "memory.stat").write_text("anon 1\ninactive_file 96000\n")
    proc = _proc(tmp_path, {9: _stat(9, 9, ticks=(1, 0, 0, 0), rss=1)},
                 {9: f"0::/steersman/uid1/{cid}\n"})
    mounts = [CgroupMount(tmp_path / "cg", 2, frozenset())]
    collector = UsageCollector(Lister([_status(cid, 9, "db", "main")]), proc=proc,
                               mounts=lambda: mounts, clock=lambda: 1.0)
    (usage,) = (await collector.collect()).containers
    assert usage.cpu_seconds == pytest.approx(1.5) and usage.memory_bytes == 4_000_000


async def test_rendered_in_the_kubelet_format(tmp_path: Path) -> None:
    proc = _proc(tmp_path, {100: _stat(100, 100, ticks=(100, 0, 0, 0), rss=2)}, {})
    collector = UsageCollector(Lister([_status("c1", 100, 'we"b', "app")]), proc=proc,
                               mounts=lambda: [], clock=lambda: 1_700_000_100.5)
    text = render_resource_metrics(await collector.collect())
    stamp = "1700000100500"
    assert "# TYPE container_cpu_usage_seconds_total counter" in text
    assert (f'container_cpu_usage_seconds_total{{container="app",namespace="default",'
            f'pod="we\\"b"}} {100 / CLOCK_TICKS!r} {stamp}') in text
    assert f"node_memory_working_set_bytes {2_000_000 * 1024} {stamp}" in text
    assert f'pod_memory_working_set_bytes{{namespace="default",pod="we\\"b"}} ' \
           f"{2 * PAGE_SIZE} {stamp}" in text
    assert "resource_scrape_error 0" in text
