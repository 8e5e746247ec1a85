"""cgroup facts the OCI runtime needs: the host's layout, crun's hybrid fix, OOM evidence.

* :func:`cgroup_mounts` reads ``/proc/self/mountinfo``; :func:`detect_layout` tells v1,
  hybrid (v1 controllers plus a cgroup2 mount such as ``/sys/fs/cgroup/unified``) and v2.
* :func:`ensure_crun_compatible`: crun refuses a hybrid host whose cgroup2 mount still owns
  controllers ("cgroups in hybrid mode not supported, drop all controllers from cgroupv2"),
  which on Debian hosts means ``hugetlb``. The fix ("fix A" in runtime-feasibility.md)
  mounts each such controller as a v1 hierarchy at ``/sys/fs/cgroup/<name>``. It is
  idempotent and host-wide, and it is deliberately **left mounted**: other containers may
  have cgroups in it, and moving a controller back needs every child cgroup gone. runc
  works on hybrid hosts as they are and needs no fix.
* :func:`oom_killed` reads ``memory.oom_control`` (v1) or ``memory.events`` (v2).
* :func:`remove_cgroup` removes a container's cgroup in every hierarchy and
  :func:`prune_parents` the empty parents the OCI runtimes leave behind.
"""

from __future__ import annotations

import enum
import logging
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from steersman.kubelet.runtime.interface import RuntimeUnavailable

log = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")


class CgroupLayout(enum.Enum):
    V1 = "v1"
    HYBRID = "hybrid"
    V2 = "v2"


@dataclass(frozen=True)
class CgroupMount:
    path: Path
    version: int
    controllers: frozenset[str]  # v1: from the mount options (``name=systemd`` included)


def cgroup_mounts(mountinfo: str | None = None) -> list[CgroupMount]:
    text = mountinfo if mountinfo is not None else Path("/proc/self/mountinfo").read_text()
    mounts = []
    for line in text.splitlines():
        before, _, after = line.partition(" - ")
        fstype, _source, options = [*after.split(), "", "", ""][:3]
        if fstype not in ("cgroup", "cgroup2"):
            continue
        controllers = frozenset(opt for opt in options.split(",") if opt not in ("rw", "ro"))
        mounts.append(
            CgroupMount(Path(before.split()[4]), 2 if fstype == "cgroup2" else 1, controllers)
        )
    return mounts


def detect_layout(mounts: list[CgroupMount]) -> CgroupLayout:
    if any(m.version == 2 and m.path == CGROUP_ROOT for m in mounts):
        return CgroupLayout.V2
    if any(m.version == 2 for m in mounts):
        return CgroupLayout.HYBRID
    return CgroupLayout.V1


def unified_controllers(mounts: list[CgroupMount]) -> list[str]:
    """Controllers the cgroup2 mount of a hybrid host still owns (crun wants none)."""
    for mount in mounts:
        if mount.version == 2 and mount.path != CGROUP_ROOT:
            return (mount.path / "cgroup.controllers").read_text().split()
    return []


def ensure_crun_compatible() -> None:
    """Move the unified mount's controllers to v1 hierarchies (fix A); a no-op when done."""
    mounts = cgroup_mounts()
    if detect_layout(mounts) is not CgroupLayout.HYBRID:
        return
    for controller in unified_controllers(mounts):
        target = CGROUP_ROOT / controller
        target.mkdir(exist_ok=True)
        result = subprocess.run(
            ["mount", "-t", "cgroup", "-o", controller, "cgroup", str(target)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeUnavailable(
                f"crun cannot run on this hybrid cgroup host and mounting {controller} as a "
                f"v1 hierarchy failed ({result.stderr.strip()}); use --runtime runc"
            )
        log.warning(
            "mounted cgroup controller %s as v1 at %s so that crun accepts this hybrid "
            "host; it stays mounted (host-wide)", controller, target,
        )  # fmt: skip


def oom_killed(cgroup_path: str, mounts: list[CgroupMount]) -> bool:
    """Whether the kernel OOM-killed a process in the cgroup (its counters, while it exists)."""
    relative = cgroup_path.lstrip("/")
    for mount in mounts:
        if mount.version == 1 and "memory" in mount.controllers:
            return _counter(mount.path / relative / "memory.oom_control", "oom_kill") > 0
    for mount in mounts:
        if mount.version == 2 and mount.path == CGROUP_ROOT:
            return _counter(mount.path / relative / "memory.events", "oom_kill") > 0
    return False


def _counter(path: Path, key: str) -> int:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return 0
    for line in lines:
        name, _, value = line.partition(" ")
        if name == key:
            return int(value)
    return 0


def remove_cgroup(cgroup_path: str, mounts: list[CgroupMount]) -> None:
    """rmdir the cgroup and its children, leaf first, in every hierarchy; keep going on EBUSY."""
    relative = cgroup_path.lstrip("/")
    for mount in mounts:
        top = mount.path / relative
        if not top.is_dir():
            continue
        for directory, _subdirs, _files in sorted(os.walk(top), key=lambda w: -len(w[0])):
            try:
                os.rmdir(directory)
            except OSError as error:
                log.debug("cgroup %s not removed: %s", directory, error)


def prune_parents(cgroup_path: str, *, stop_at: str, mounts: list[CgroupMount]) -> None:
    """Remove now-empty parents of ``cgroup_path`` up to and including ``stop_at``."""
    parents = [p for p in Path(cgroup_path).parents if Path(stop_at) in (p, *p.parents)]
    for mount in mounts:
        for parent in parents:
            try:
                os.rmdir(mount.path / str(parent).lstrip("/"))
            except FileNotFoundError:
                continue
            except OSError:
                break  # still in use by a sibling: so are its parents
