"""Build the OCI runtime spec (``config.json``) of a container's bundle.

:func:`build_spec` maps a :class:`~.interface.ContainerConfig` and its sandbox onto the
OCI runtime spec 1.0 as crun and runc read it:

* ``process``: argv (:meth:`ContainerConfig.argv`), env, cwd, user, ``terminal: false``
  (no console socket), the default capability set (never more than the agent's own
  bounding set), ``RLIMIT_NOFILE`` at the current
  *hard* limit (raising it would need CAP_SYS_RESOURCE, which the agent may lack);
* ``root``: the image rootfs as an absolute real path (runc rejects symlinks);
* ``mounts``: proc, dev, devpts, shm, mqueue, sysfs, cgroup (read-only), the volumes as
  recursive bind mounts, and ``/etc/resolv.conf``, ``/etc/hosts``, ``/etc/hostname``;
* ``linux``: pid/ipc/uts/mount namespaces, the network namespace of the sandbox (a path)
  or the host's (none), ``resources`` (memory with ``swap`` = limit, which is memory+swap
  on v1 and means "no swap" on v2; cpu shares/quota/period; pids), ``cgroupsPath``, the
  default seccomp profile, masked and read-only ``/proc`` paths. No AppArmor profile (the
  host may have no LSM) and no systemd cgroup driver.

Privileged containers get every capability, all devices, writable sysfs, and no seccomp,
masked or read-only paths. Each container of a pod has its own IPC and UTS namespaces.
"""

from __future__ import annotations

import resource
from pathlib import Path
from typing import Any

from steersman.kubelet.runtime.interface import (
    ContainerConfig,
    CreateError,
    PodSandboxConfig,
    Resources,
)
from steersman.kubelet.runtime.seccomp import default_profile

DEFAULT_CAPABILITIES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
)  # fmt: skip
# Indexed by capability number, as in /proc/<pid>/status' CapBnd bit mask.
ALL_CAPABILITIES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)  # fmt: skip
MASKED_PATHS = (
    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/sched_debug", "/proc/scsi", "/proc/timer_list", "/proc/timer_stats",
    "/sys/devices/virtual/powercap", "/sys/firmware",
)  # fmt: skip
READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")
NOSUID_NOEXEC_NODEV = ["nosuid", "noexec", "nodev"]
SYSTEM_MOUNTS = (
    ("/proc", "proc", "proc", NOSUID_NOEXEC_NODEV),
    ("/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"]),
    ("/dev/pts", "devpts", "devpts",
     ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
    ("/dev/shm", "tmpfs", "shm", [*NOSUID_NOEXEC_NODEV, "mode=1777", "size=65536k"]),
    ("/dev/mqueue", "mqueue", "mqueue", NOSUID_NOEXEC_NODEV),
    ("/sys", "sysfs", "sysfs", [*NOSUID_NOEXEC_NODEV, "ro"]),
    ("/sys/fs/cgroup", "cgroup", "cgroup", [*NOSUID_NOEXEC_NODEV, "relatime", "ro"]),
)  # fmt: skip


def build_spec(
    *,
    config: ContainerConfig,
    sandbox: PodSandboxConfig,
    cgroups_path: str,
    hostname_file: str,
) -> dict[str, Any]:
    rootfs = config.image.rootfs
    if not rootfs or not Path(rootfs).is_dir():
        raise CreateError(f"container {config.name!r}: image rootfs {rootfs!r} is not a directory")
    spec: dict[str, Any] = {
        "ociVersion": "1.0.2",
        "process": _process(config, sandbox),
        "root": {"path": str(Path(rootfs).resolve()), "readonly": config.readonly_rootfs},
        "hostname": hostname(sandbox),
        "mounts": _mounts(config, sandbox, hostname_file),
        "linux": _linux(config, sandbox, cgroups_path),
    }
    return spec


def hostname(sandbox: PodSandboxConfig) -> str:
    return sandbox.hostname or sandbox.name


def _process(config: ContainerConfig, sandbox: PodSandboxConfig) -> dict[str, Any]:
    argv = config.argv()
    if not argv:
        raise CreateError(f"container {config.name!r}: no command and no image entrypoint")
    env = {"HOSTNAME": hostname(sandbox), **config.effective_env()}
    user = config.user
    wanted = ALL_CAPABILITIES if config.privileged else DEFAULT_CAPABILITIES
    caps = [cap for cap in wanted if cap in _bounding_set()]
    return {
        "terminal": False,
        "user": {
            "uid": user.uid if user else 0,
            "gid": user.gid if user else 0,
            "additionalGids": list(user.supplemental_gids) if user else [],
        },
        "args": list(argv),
        "env": [f"{key}={value}" for key, value in env.items()],
        "cwd": config.effective_working_dir() or "/",
        "capabilities": {kind: caps for kind in ("bounding", "effective", "permitted")},
        "rlimits": [_nofile_limit()],
        "noNewPrivileges": False,
    }


def _bounding_set() -> frozenset[str]:
    """The capabilities the agent can pass on (a container cannot get more)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapBnd:"):
            mask = int(line.split()[1], 16)
            return frozenset(c for i, c in enumerate(ALL_CAPABILITIES) if mask >> i & 1)
    return frozenset(ALL_CAPABILITIES)


def _nofile_limit() -> dict[str, Any]:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    limit = 1048576 if hard == resource.RLIM_INFINITY else min(hard, 1048576)
    return {"type": "RLIMIT_NOFILE", "hard": limit, "soft": limit}


def _mounts(
    config: ContainerConfig, sandbox: PodSandboxConfig, hostname_file: str
) -> list[dict[str, Any]]:
    mounts: list[dict[str, Any]] = [
        {"destination": dest, "type": kind, "source": source, "options": list(options)}
        for dest, kind, source, options in SYSTEM_MOUNTS
    ]
    if config.privileged:  # a writable /sys
        mounts[5]["options"] = [o for o in mounts[5]["options"] if o != "ro"]
    files = {"/etc/hostname": hostname_file, "/etc/resolv.conf": sandbox.resolv_conf_path,
             "/etc/hosts": sandbox.hosts_path}  # fmt: skip
    mounts += [_bind(path, dest, readonly=False) for dest, path in files.items() if path]
    mounts += [_bind(m.host_path, m.container_path, readonly=m.readonly) for m in config.mounts]
    return mounts


def _bind(source: str, destination: str, *, readonly: bool) -> dict[str, Any]:
    options = ["rbind", "rprivate", "ro" if readonly else "rw"]
    return {"destination": destination, "type": "bind", "source": source, "options": options}


def _linux(config: ContainerConfig, sandbox: PodSandboxConfig, cgroups_path: str) -> dict[str, Any]:
    namespaces: list[dict[str, str]] = [{"type": t} for t in ("pid", "ipc", "uts", "mount")]
    if sandbox.netns_path:
        namespaces.append({"type": "network", "path": sandbox.netns_path})
    linux: dict[str, Any] = {
        "namespaces": namespaces,
        "resources": resources_section(config.resources, privileged=config.privileged),
        "cgroupsPath": cgroups_path,
    }
    if not config.privileged:
        linux["seccomp"] = default_profile()
        linux["maskedPaths"] = list(MASKED_PATHS)
        linux["readonlyPaths"] = list(READONLY_PATHS)
    return linux


def resources_section(resources: Resources, *, privileged: bool = False) -> dict[str, Any]:
    """``linux.resources``; also the document ``crun update --resources`` reads."""
    section: dict[str, Any] = {"devices": [{"allow": privileged, "access": "rwm"}]}
    if resources.memory_limit is not None:
        limit = resources.memory_limit
        section["memory"] = {"limit": limit, "swap": limit}
    cpu = {
        key: value
        for key, value in (("shares", resources.cpu_shares), ("quota", resources.cpu_quota),
                           ("period", resources.cpu_period))
        if value is not None
    }  # fmt: skip
    if cpu:
        section["cpu"] = cpu
    if resources.pids_limit is not None:
        section["pids"] = {"limit": resources.pids_limit}
    return section
