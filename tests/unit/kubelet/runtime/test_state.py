"""State records survive a JSON round trip; PIDs are told apart from reused ones."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from steersman.kubelet.runtime.interface import (
    ContainerConfig,
    ImageSpec,
    Mount,
    NotFound,
    PodSandboxConfig,
    Resources,
    SandboxState,
    User,
)
from steersman.kubelet.runtime.state import (
    ContainerRecord,
    ExitRecord,
    SandboxRecord,
    StartRecord,
    StateDir,
    is_alive,
    process_start_ticks,
)

NOW = datetime(2026, 11, 29, 5, 30, tzinfo=UTC)


def test_records_round_trip(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    config = ContainerConfig(
        name="web", image=ImageSpec("busybox", rootfs="/r", entrypoint=("sh",), env={"A": "1"}),
        command=("sleep", "1"), env={"B": "2"}, user=User(1, 2, (3,)),
        mounts=(Mount("/h", "/c", readonly=True),), resources=Resources(memory_limit=64),
        labels={"app": "web"},
    )  # fmt: skip
    record = ContainerRecord("c1", "s1", config, NOW, "/log")
    state.save_container(record)
    assert state.load_container("c1") == record
    sandbox = SandboxRecord("s1", PodSandboxConfig("p", "ns", "uid"), NOW, SandboxState.NOTREADY)
    state.save_sandbox(sandbox)
    assert state.load_sandbox("s1") == sandbox
    state.save_exit("c1", ExitRecord(137, NOW, signal=9))
    assert state.load_exit("c1") == ExitRecord(137, NOW, signal=9)
    assert (state.container_ids(), state.sandbox_ids()) == (["c1"], ["s1"])


def test_unknown_ids_are_not_found(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    with pytest.raises(NotFound):
        state.load_container("../sandboxes")
    with pytest.raises(NotFound):
        state.load_sandbox("missing")


def test_a_pid_is_alive_only_with_its_start_time() -> None:
    ticks = process_start_ticks(os.getpid())
    assert ticks is not None
    assert is_alive(StartRecord(os.getpid(), NOW, ticks))
    assert not is_alive(StartRecord(os.getpid(), NOW, ticks + 1))


def test_argv_follows_kubernetes_rules() -> None:
    image = ImageSpec("img", entrypoint=("/entry",), cmd=("default",))
    assert ContainerConfig("c", image).argv() == ("/entry", "default")
    assert ContainerConfig("c", image, args=("x",)).argv() == ("/entry", "x")
    assert ContainerConfig("c", image, command=("/bin/sh",)).argv() == ("/bin/sh",)
