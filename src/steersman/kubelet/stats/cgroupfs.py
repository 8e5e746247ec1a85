"""A container's CPU time and working set from its own cgroup (cgroup v1, hybrid and v2).

The OCI runtimes (crun, runc) put each container in ``<parent>/<pod uid>/<container id>``;
the container's main PID's ``/proc/<pid>/cgroup`` names that path per hierarchy.
:func:`container_cgroup` finds it, and returns ``None`` when the process is not in a
cgroup of its own (the ``process`` runtime's containers share the agent's), so the caller
falls back to :mod:`.procfs`.

Working set as the kubelet computes it: memory usage minus inactive file pages (v1
``memory.usage_in_bytes`` - ``total_inactive_file``; v2 ``memory.current`` -
``inactive_file``). CPU: v1 ``cpuacct.usage`` (ns), v2 ``usage_usec`` of ``cpu.stat``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from steersman.kubelet.runtime.cgroups import CgroupMount
from steersman.kubelet.stats.procfs import PROC, GroupUsage


@dataclass(frozen=True)
class ContainerCgroup:
    """Where a container's counters are: the cpu and memory directories it is charged to."""

    cpu_dir: Path
    memory_dir: Path
    version: int


def container_cgroup(pid: int, container_id: str, mounts: list[CgroupMount], *,
                     proc: Path = PROC) -> ContainerCgroup | None:
    """The container's own cgroup, or None when ``pid`` is not in one named after it."""
    try:
        lines = (proc / str(pid) / "cgroup").read_text().splitlines()
    except OSError:
        return None
    paths: dict[str, str] = {}
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            paths[controller] = path
    v1 = _v1_dirs(paths, mounts, container_id)
    if v1 is not None:
        return v1
    unified = paths.get("", "")
    root = next((m.path for m in mounts if m.version == 2), None)
    if root is None or not _own(unified, container_id):
        return None
    directory = root / unified.lstrip("/")
    return ContainerCgroup(directory, directory, 2)


def _v1_dirs(paths: dict[str, str], mounts: list[CgroupMount],
             container_id: str) -> ContainerCgroup | None:
    cpu, memory = paths.get("cpuacct"), paths.get("memory")
    if cpu is None or memory is None or not (_own(cpu, container_id)
                                             and _own(memory, container_id)):
        return None
    cpu_mount = _v1_mount(mounts, "cpuacct")
    memory_mount = _v1_mount(mounts, "memory")
    if cpu_mount is None or memory_mount is None:
        return None
    return ContainerCgroup(cpu_mount / cpu.lstrip("/"), memory_mount / memory.lstrip("/"), 1)


def _own(path: str, container_id: str) -> bool:
    return bool(container_id) and path.rstrip("/").rsplit("/", 1)[-1] == container_id


def _v1_mount(mounts: list[CgroupMount], controller: str) -> Path | None:
    return next((m.path for m in mounts if m.version == 1 and controller in m.controllers),
                None)


def cgroup_usage(cgroup: ContainerCgroup) -> GroupUsage | None:
    """The cgroup's counters; None when it vanished between finding and reading it."""
    try:
        if cgroup.version == 1:
            cpu = int((cgroup.cpu_dir / "cpuacct.usage").read_text()) / 1e9
            usage = int((cgroup.memory_dir / "memory.usage_in_bytes").read_text())
            inactive = _stat(cgroup.memory_dir / "memory.stat", "total_inactive_file")
        else:
            cpu = _stat(cgroup.cpu_dir / "cpu.stat", "usage_usec") / 1e6
            usage = int((cgroup.memory_dir / "memory.current").read_text())
            inactive = _stat(cgroup.memory_dir / "memory.stat", "inactive_file")
    except (OSError, ValueError):
        return None
    return GroupUsage(cpu, max(usage - inactive, 0))


def _stat(path: Path, key: str) -> int:
    for line in path.read_text().splitlines():
        name, _, value = line.partition(" ")
        if name == key:
            return int(value)
    return 0
