"""The default seccomp profile for unprivileged OCI containers, as a compact table.

Moby's and containerd's default profiles are allow-lists of ~350 system calls, where the
dangerous remainder fails with EPERM unless the container holds the capability that the
call needs. With the default capability set (no CAP_SYS_ADMIN, CAP_SYS_MODULE, …) that
comes to the same thing as this deny-list: everything is allowed except the calls below,
which fail with EPERM (``mkdir`` and friends stay allowed; ``unshare``/``setns`` are
denied, as in the defaults, which only grant them with CAP_SYS_ADMIN). Privileged
containers get no profile. Names a kernel or libseccomp does not know are skipped by crun
and runc alike.
"""

from __future__ import annotations

from typing import Any

EPERM = 1

# Grouped by why the call is denied.
DENIED_SYSCALLS: dict[str, tuple[str, ...]] = {
    "kernel modules and kexec": (
        "create_module", "delete_module", "finit_module", "get_kernel_syms", "init_module",
        "kexec_file_load", "kexec_load", "query_module",
    ),
    "system-wide state": (
        "acct", "clock_adjtime", "clock_settime", "nfsservctl", "quotactl", "reboot",
        "settimeofday", "stime", "swapoff", "swapon", "_sysctl", "sysfs", "syslog",
        "uselib", "ustat", "vhangup",
    ),
    "mounts and namespaces": (
        "fsconfig", "fsmount", "fsopen", "fspick", "mount", "mount_setattr", "move_mount",
        "open_tree", "pivot_root", "setns", "umount", "umount2", "unshare",
    ),
    "kernel keyring": ("add_key", "keyctl", "request_key"),
    "tracing and other processes' memory": (
        "kcmp", "perf_event_open", "process_madvise", "process_vm_readv",
        "process_vm_writev", "ptrace", "userfaultfd",
    ),
    "raw hardware and NUMA": (
        "get_mempolicy", "ioperm", "iopl", "mbind", "move_pages", "set_mempolicy",
        "vm86", "vm86old",
    ),
    "file handles (container escape)": ("name_to_handle_at", "open_by_handle_at"),
    "bpf and lookups": ("bpf", "lookup_dcookie"),
}  # fmt: skip

ARCHITECTURES = ("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64")


def default_profile() -> dict[str, Any]:
    """The ``linux.seccomp`` section of an OCI runtime spec."""
    names = sorted(name for group in DENIED_SYSCALLS.values() for name in group)
    return {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": list(ARCHITECTURES),
        "syscalls": [{"names": names, "action": "SCMP_ACT_ERRNO", "errnoRet": EPERM}],
    }
