"""Reading the cgroup layout from mountinfo (v1, hybrid, v2) and OOM counters."""

from __future__ import annotations

from pathlib import Path

from steersman.kubelet.runtime.cgroups import (
    CgroupLayout,
    CgroupMount,
    cgroup_mounts,
    detect_layout,
    oom_killed,
)

HYBRID = """\
30 25 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
31 30 0:27 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
32 30 0:28 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
33 30 0:29 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
34 25 8:1 / / rw - ext4 /dev/vda rw
"""
PURE_V2 = "40 25 0:30 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n"


def test_layouts() -> None:
    hybrid = cgroup_mounts(HYBRID)
    assert [(str(m.path), m.version) for m in hybrid] == [
        ("/sys/fs/cgroup/memory", 1), ("/sys/fs/cgroup/systemd", 1),
        ("/sys/fs/cgroup/unified", 2),
    ]  # fmt: skip
    assert hybrid[0].controllers == frozenset({"memory"})
    assert detect_layout(hybrid) is CgroupLayout.HYBRID
    assert detect_layout(cgroup_mounts(PURE_V2)) is CgroupLayout.V2
    assert detect_layout(hybrid[:2]) is CgroupLayout.V1


def test_oom_counters_v1_and_v2(tmp_path: Path) -> None:
    v1 = tmp_path / "memory" / "pods" / "c"
    v1.mkdir(parents=True)
    (v1 / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 1\n")
    mounts = [CgroupMount(tmp_path / "memory", 1, frozenset({"memory"}))]
    assert oom_killed("/pods/c", mounts)
    assert not oom_killed("/pods/other", mounts)
    (v1 / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n")
    v2 = [CgroupMount(Path("/sys/fs/cgroup"), 2, frozenset())]
    assert not oom_killed(str(v1), v2)
