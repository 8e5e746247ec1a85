"""The supervisor zygote: warm forks for container starts, and life without it."""

from __future__ import annotations

from pathlib import Path

import pytest

from steersman.kubelet.runtime import interface as rt
from steersman.kubelet.runtime import launcher
from steersman.kubelet.runtime.registry import new_runtime


async def _start(runtime: rt.RuntimeService, tmp_path: Path, name: str) -> str:
    sandbox = await runtime.run_sandbox(rt.PodSandboxConfig(name=name, namespace="z", uid=name))
    container = await runtime.create_container(sandbox, rt.ContainerConfig(
        name="c", image=rt.ImageSpec(image="unused"), command=("sleep", "30"),
        log_path=str(tmp_path / f"{name}.log")))
    await runtime.start_container(container)
    return container


async def _state(runtime: rt.RuntimeService, container: str) -> rt.ContainerState:
    return (await runtime.container_status(container)).state


async def test_containers_outlive_the_zygote_and_a_new_one_takes_over(tmp_path: Path) -> None:
    runtime = new_runtime("process", state_dir=tmp_path / "state")
    try:
        first = await _start(runtime, tmp_path, "first")
        zygote = launcher._ZYGOTE._process
        assert zygote is not None and zygote.poll() is None  # the start went through it
        zygote.kill()
        zygote.wait()
        assert await _state(runtime, first) is rt.ContainerState.RUNNING
        second = await _start(runtime, tmp_path, "second")
        assert await _state(runtime, second) is rt.ContainerState.RUNNING
        replacement = launcher._ZYGOTE._process
        assert replacement is not None and replacement.pid != zygote.pid
    finally:
        for sandbox in await runtime.list_sandboxes():
            await runtime.remove_sandbox(sandbox.id)


async def test_an_unreachable_zygote_falls_back_to_a_fresh_supervisor(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    unreachable = launcher._Zygote()
    monkeypatch.setattr(unreachable, "address", lambda: "steersman-zygote-nobody-listens")
    monkeypatch.setattr(launcher, "_ZYGOTE", unreachable)
    runtime = new_runtime("process", state_dir=tmp_path / "state")
    try:
        container = await _start(runtime, tmp_path, "fallback")
        assert await _state(runtime, container) is rt.ContainerState.RUNNING
    finally:
        for sandbox in await runtime.list_sandboxes():
            await runtime.remove_sandbox(sandbox.id)
