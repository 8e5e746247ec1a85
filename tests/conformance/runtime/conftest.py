"""Fixtures for the runtime conformance suite: one ``runtime`` per implementation.

``runtime_name`` is parametrised over ``process``, ``crun`` and ``runc`` — the OCI ones
shimmed by conmon — and ``crun-supervisor`` / ``runc-supervisor``, the same runtimes with
the fallback shim used when conmon is not installed. The OCI runtimes need root, their
binary, ``conmon`` and ``busybox`` (for the test image's rootfs); without them those cases
skip, or fail under ``STEERSMAN_REQUIRE=all``. Each test gets its own
state directory and its own cgroup parent (``/steersman-test-<random>``); teardown removes
every sandbox the test left and checks that no cgroup under that parent remains.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from steersman.kubelet.runtime import cgroups
from steersman.kubelet.runtime.interface import RuntimeService
from steersman.kubelet.runtime.oci import OciRuntime
from steersman.kubelet.runtime.process import ProcessRuntime
from tests.tools import need_tool, required_everything

MakeRuntime = Callable[..., RuntimeService]  # keyword options go to the OCI runtime


def need_root(why: str) -> None:
    if os.geteuid() == 0:
        return
    message = f"needs root ({why})"
    if required_everything():
        pytest.fail(message + "; STEERSMAN_REQUIRE=all forbids skipping", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def busybox_rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root filesystem of Debian's static busybox and its applets (about 2 MB)."""
    busybox = need_tool("busybox", "the OCI runtime tests build their image from it")
    root = tmp_path_factory.mktemp("busybox-rootfs")
    root.chmod(0o755)  # mktemp makes it 0700: a non-root container user could not use /
    for directory in ("bin", "etc", "tmp", "data", "proc", "dev", "sys", "root"):
        (root / directory).mkdir()
    shutil.copy(busybox, root / "bin" / "busybox")
    for applet in os.popen(f"{root}/bin/busybox --list").read().split():
        if applet != "busybox":
            (root / "bin" / applet).symlink_to("busybox")
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "etc" / "group").write_text("root:x:0:\n")
    for mount_point in ("hostname", "hosts", "resolv.conf"):
        (root / "etc" / mount_point).touch()
    return root


@pytest.fixture(params=["process", "crun", "runc", "crun-supervisor", "runc-supervisor"])
def runtime_name(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    binary, _, shim = name.partition("-")
    if name != "process":
        need_root(f"the {binary} runtime")
        need_tool(binary)
    if shim != "supervisor" and name != "process":
        need_tool("conmon", "the OCI runtimes' preferred shim")
    return name


@pytest.fixture
def rootfs(runtime_name: str, request: pytest.FixtureRequest) -> str:
    """The image rootfs for OCI runtimes; empty for the process runtime (no image)."""
    if runtime_name == "process":
        return ""
    return str(request.getfixturevalue("busybox_rootfs"))


@pytest.fixture
def cgroup_parent() -> str:
    return f"/steersman-test-{secrets.token_hex(4)}"


@pytest.fixture
def make_runtime(runtime_name: str, tmp_path: Path, cgroup_parent: str) -> MakeRuntime:
    """A factory: every call is a new runtime instance on the same state directory."""
    state = tmp_path / "state"
    if runtime_name == "process":
        return lambda: ProcessRuntime(state)
    binary, _, shim = runtime_name.partition("-")
    return lambda **options: OciRuntime(
        state, binary=binary, cgroup_parent=cgroup_parent, use_conmon=shim != "supervisor",
        **options,
    )


@pytest.fixture
async def runtime(make_runtime: MakeRuntime, cgroup_parent: str) -> AsyncIterator[RuntimeService]:
    opened = make_runtime()
    yield opened
    cleaner = make_runtime()
    for sandbox in await cleaner.list_sandboxes():
        await cleaner.remove_sandbox(sandbox.id)
    mounts = cgroups.cgroup_mounts()
    relative = cgroup_parent.lstrip("/")
    leftovers = [str(m.path / relative) for m in mounts if (m.path / relative).exists()]
    cgroups.remove_cgroup(cgroup_parent, mounts)
    assert not leftovers, f"cgroups left behind: {leftovers}"
