"""The OCI spec built for a container: process, mounts, namespaces, resources, seccomp."""

from __future__ import annotations

from pathlib import Path

import pytest

from steersman.kubelet.runtime.interface import (
    ContainerConfig,
    CreateError,
    ImageSpec,
    Mount,
    PodSandboxConfig,
    Resources,
    User,
)
from steersman.kubelet.runtime.ocispec import build_spec
from steersman.kubelet.runtime.seccomp import default_profile

SANDBOX = PodSandboxConfig("web-0", "default", "uid-1", netns_path="/run/netns/web",
                           resolv_conf_path="/pods/resolv.conf")  # fmt: skip


def spec_for(tmp_path: Path, **overrides: object) -> dict[str, object]:
    image = ImageSpec("busybox", rootfs=str(tmp_path), env={"PATH": "/bin"}, working_dir="/w")
    fields: dict[str, object] = {"name": "main", "image": image, "command": ("sh",)}
    fields.update(overrides)
    config = ContainerConfig(**fields)  # type: ignore[arg-type]
    return build_spec(config=config, sandbox=SANDBOX, cgroups_path="/steersman/uid-1/c",
                      hostname_file="/state/hostname")  # fmt: skip


def test_process_section(tmp_path: Path) -> None:
    spec = spec_for(tmp_path, args=("-c", "true"), env={"A": "1"}, user=User(1000, 1000, (5,)))
    process = spec["process"]
    assert isinstance(process, dict)
    assert process["args"] == ["sh", "-c", "true"]
    assert process["env"] == ["HOSTNAME=web-0", "PATH=/bin", "A=1"]
    assert (process["cwd"], process["terminal"]) == ("/w", False)
    assert process["user"] == {"uid": 1000, "gid": 1000, "additionalGids": [5]}
    assert "CAP_SYS_ADMIN" not in process["capabilities"]["bounding"]
    assert spec["root"] == {"path": str(tmp_path.resolve()), "readonly": False}


def test_linux_section(tmp_path: Path) -> None:
    limits = Resources(cpu_shares=512, cpu_quota=50000, cpu_period=100000, memory_limit=64,
                       pids_limit=20)  # fmt: skip
    spec = spec_for(tmp_path, resources=limits)
    linux = spec["linux"]
    assert isinstance(linux, dict)
    assert {"type": "network", "path": "/run/netns/web"} in linux["namespaces"]
    assert linux["cgroupsPath"] == "/steersman/uid-1/c"
    assert linux["resources"]["memory"] == {"limit": 64, "swap": 64}
    assert linux["resources"]["cpu"] == {"shares": 512, "quota": 50000, "period": 100000}
    assert linux["resources"]["pids"] == {"limit": 20}
    assert linux["seccomp"] == default_profile()
    assert "apparmorProfile" not in spec["process"]  # type: ignore[operator]


def test_mounts(tmp_path: Path) -> None:
    spec = spec_for(tmp_path, mounts=(Mount("/data", "/var/data", readonly=True),))
    mounts = {m["destination"]: m for m in spec["mounts"]}  # type: ignore[attr-defined]
    assert mounts["/var/data"]["options"] == ["rbind", "rprivate", "ro"]
    assert mounts["/etc/resolv.conf"]["source"] == "/pods/resolv.conf"
    assert mounts["/etc/hostname"]["source"] == "/state/hostname"
    assert "/etc/hosts" not in mounts
    assert "ro" in mounts["/sys"]["options"]


def test_privileged_drops_the_profile(tmp_path: Path) -> None:
    spec = spec_for(tmp_path, privileged=True)
    linux = spec["linux"]
    assert isinstance(linux, dict)
    assert "seccomp" not in linux and "maskedPaths" not in linux
    assert "CAP_SYS_ADMIN" in spec["process"]["capabilities"]["bounding"]  # type: ignore[index]


def test_missing_rootfs_or_command_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CreateError, match="rootfs"):
        spec_for(tmp_path, image=ImageSpec("busybox", rootfs=str(tmp_path / "missing")))
    with pytest.raises(CreateError, match="no command"):
        spec_for(tmp_path, command=())


def test_seccomp_denies_dangerous_calls_only() -> None:
    profile = default_profile()
    denied = profile["syscalls"][0]["names"]
    assert profile["defaultAction"] == "SCMP_ACT_ALLOW"
    assert {"mount", "kexec_load", "bpf", "ptrace"} <= set(denied)
    assert "mkdir" not in denied and len(denied) == len(set(denied))
