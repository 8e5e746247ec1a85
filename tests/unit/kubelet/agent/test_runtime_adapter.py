"""The agent's CRI protocol on the real process runtime, through :class:`RuntimeAdapter`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from steersman.kubelet.agent import cri
from steersman.kubelet.agent.downward import ContainerConfigError
from steersman.kubelet.agent.runtime_adapter import RuntimeAdapter
from steersman.kubelet.runtime.process import ProcessRuntime

LABELS = {cri.POD_UID_LABEL: "uid-1", cri.POD_NAME_LABEL: "p", cri.POD_NAMESPACE_LABEL: "ns"}


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[RuntimeAdapter]:
    adapter = await RuntimeAdapter.open(ProcessRuntime(tmp_path / "runtime"))
    try:
        yield adapter
    finally:
        for sandbox in await adapter.list_pod_sandboxes():
            await adapter.remove_pod_sandbox(sandbox.id)


async def _sandbox(runtime: RuntimeAdapter) -> str:
    return await runtime.run_pod_sandbox(cri.SandboxConfig(
        name="p", namespace="ns", uid="uid-1", labels=LABELS,
        annotations={cri.POD_IP_ANNOTATION: "127.42.201.7"}))


def _config(tmp_path: Path, command: str, restart_count: int = 0) -> cri.ContainerConfig:
    return cri.ContainerConfig(
        name="app", image="busybox", command=("sh", "-c", command), env=(("GREETING", "hi"),),
        log_path=str(tmp_path / "logs" / "uid-1" / "app" / f"{restart_count}.log"),
        labels={**LABELS, cri.CONTAINER_NAME_LABEL: "app"},
        annotations={cri.RESTART_COUNT_ANNOTATION: str(restart_count)})


async def _wait_exited(runtime: RuntimeAdapter, container_id: str) -> cri.ContainerStatus:
    for _ in range(500):
        status = next(c for c in await runtime.list_containers() if c.id == container_id)
        if status.state is cri.ContainerState.EXITED:
            return status
        await asyncio.sleep(0.01)
    raise AssertionError(f"{container_id} did not exit: {status}")


async def test_names_itself_after_the_runtime(runtime: RuntimeAdapter) -> None:
    assert runtime.name == "process"
    assert runtime.version


async def test_sandbox_keeps_labels_and_annotations_for_adoption(
        runtime: RuntimeAdapter) -> None:
    sandbox_id = await _sandbox(runtime)
    [sandbox] = await runtime.list_pod_sandboxes()
    assert (sandbox.id, sandbox.ready) == (sandbox_id, True)
    assert sandbox.labels == LABELS
    assert sandbox.annotations == {cri.POD_IP_ANNOTATION: "127.42.201.7"}
    assert sandbox.created_at > 0
    await runtime.stop_pod_sandbox(sandbox_id)
    [stopped] = await runtime.list_pod_sandboxes()
    assert stopped.ready is False


async def test_an_exit_is_reported_with_code_labels_and_restart_count(
        runtime: RuntimeAdapter, tmp_path: Path) -> None:
    sandbox_id = await _sandbox(runtime)
    container_id = await runtime.create_container(
        sandbox_id, _config(tmp_path, 'echo "$GREETING"; exit 3', restart_count=2))
    await runtime.start_container(container_id)
    status = await _wait_exited(runtime, container_id)
    assert (status.exit_code, status.reason) == (3, "Error")
    assert status.name == "app" and status.restart_count == 2
    assert status.sandbox_id == sandbox_id and status.image == "busybox"
    assert 0 < status.created_at <= status.started_at <= status.finished_at
    log = (tmp_path / "logs" / "uid-1" / "app" / "2.log").read_text()
    assert log.rstrip().endswith("stdout F hi")


async def test_exec_sync_and_stop(runtime: RuntimeAdapter, tmp_path: Path) -> None:
    sandbox_id = await _sandbox(runtime)
    container_id = await runtime.create_container(sandbox_id, _config(tmp_path, "sleep 60"))
    await runtime.start_container(container_id)
    [running] = await runtime.list_containers()
    assert running.state is cri.ContainerState.RUNNING and running.pid > 0
    result = await runtime.exec_sync(container_id, ["sh", "-c", "echo out; exit 4"], 5)
    assert (result.exit_code, result.stdout) == (4, b"out\n")
    with pytest.raises(TimeoutError):
        await runtime.exec_sync(container_id, ["sleep", "30"], 0.2)
    await runtime.stop_container(container_id, 5)
    stopped = await _wait_exited(runtime, container_id)
    assert stopped.exit_code == 128 + 15
    refused = await runtime.exec_sync(container_id, ["true"], 5)
    assert refused.exit_code != 0 and b"not running" in refused.stderr


async def test_stopping_or_removing_what_is_gone_is_a_no_op(runtime: RuntimeAdapter) -> None:
    await runtime.stop_container("missing", 0)
    await runtime.remove_container("missing")
    await runtime.stop_pod_sandbox("missing")
    await runtime.remove_pod_sandbox("missing")


async def test_a_refused_container_is_a_waiting_reason(runtime: RuntimeAdapter,
                                                       tmp_path: Path) -> None:
    sandbox = await _sandbox(runtime)
    config = cri.ContainerConfig(name="app", image="busybox", command=("true",),
                                 working_dir=str(tmp_path / "missing"),
                                 labels={**LABELS, cri.CONTAINER_NAME_LABEL: "app"})
    with pytest.raises(ContainerConfigError, match="missing") as refused:
        await runtime.create_container(sandbox, config)
    assert refused.value.reason == "CreateContainerError"
    assert runtime.image_store is None  # the process runtime never pulls images
