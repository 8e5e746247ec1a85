"""The runtime contract (``steersman.kubelet.runtime.interface``), run against every runtime.

Each test gets a fresh ``runtime`` (process, crun, runc) on its own state directory.
Commands are POSIX ``sh`` so that they mean the same on the host (process runtime) and in
the busybox image (OCI runtimes). Where a runtime documents that it does not enforce
something (:class:`RuntimeFeature` absent from ``version().features``), the test asserts
that documented behaviour instead.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from steersman.kubelet.runtime import cgroups
from steersman.kubelet.runtime.crilog import LogLine, parse_line
from steersman.kubelet.runtime.interface import (
    ContainerConfig,
    ContainerFilter,
    ContainerRuntimeError,
    ContainerState,
    ContainerStatus,
    ExecTimeout,
    ImageSpec,
    InvalidState,
    Mount,
    NotFound,
    PodSandboxConfig,
    Resources,
    RuntimeFeature,
    RuntimeService,
    SandboxFilter,
    SandboxState,
    User,
)
from steersman.kubelet.streaming.crilog import log_files
from tests.conformance.runtime.conftest import MakeRuntime

pytestmark = pytest.mark.timeout(60)

CRI_LINE = re.compile(
    rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) (stdout|stderr) [FP] "
)
# Both print "ready" once their TERM handling is in place (see run_ready).
SLEEPER = "trap 'exit 0' TERM; echo ready; while :; do sleep 0.05; done"
STUBBORN = "trap '' TERM; echo ready; while :; do sleep 0.05; done"


def config(rootfs: str, script: str, **overrides: object) -> ContainerConfig:
    image = ImageSpec("busybox:test", rootfs=rootfs)
    fields: dict[str, object] = {"name": "main", "image": image, "command": ("sh", "-c", script)}
    fields.update(overrides)
    return ContainerConfig(readonly_rootfs=True, **fields)  # type: ignore[arg-type]


async def new_pod(runtime: RuntimeService, **labels: str) -> str:
    uid = f"uid-{time.monotonic_ns()}"
    return await runtime.run_sandbox(
        PodSandboxConfig(name="pod", namespace="default", uid=uid, hostname="podhost",
                         labels=labels)
    )  # fmt: skip


async def run(runtime: RuntimeService, sandbox_id: str, cfg: ContainerConfig) -> str:
    container_id = await runtime.create_container(sandbox_id, cfg)
    await runtime.start_container(container_id)
    return container_id


async def run_ready(runtime: RuntimeService, sandbox_id: str, cfg: ContainerConfig) -> str:
    """Run a SLEEPER or STUBBORN container and wait until it handles TERM as scripted."""
    container_id = await run(runtime, sandbox_id, cfg)
    await wait_ready(runtime, container_id)
    return container_id


async def wait_ready(runtime: RuntimeService, container_id: str) -> None:
    status = await runtime.container_status(container_id)
    deadline = time.monotonic() + 20
    while not logged(status, b" ready\n"):
        assert time.monotonic() < deadline, "the container never became ready"
        await asyncio.sleep(0.01)


def logged(status: ContainerStatus, text: bytes) -> bool:
    path = Path(status.log_path)
    return path.exists() and text in path.read_bytes()


async def wait_exited(
    runtime: RuntimeService, container_id: str, timeout: float = 20
) -> ContainerStatus:
    deadline = time.monotonic() + timeout
    while True:
        status = await runtime.container_status(container_id)
        if status.state is ContainerState.EXITED:
            return status
        assert time.monotonic() < deadline, f"still {status.state} after {timeout}s"
        await asyncio.sleep(0.02)


async def run_to_exit(
    runtime: RuntimeService, sandbox_id: str, cfg: ContainerConfig
) -> ContainerStatus:
    return await wait_exited(runtime, await run(runtime, sandbox_id, cfg))


def log_lines(status: ContainerStatus) -> list[LogLine]:
    raw = Path(status.log_path).read_bytes().splitlines()
    assert all(CRI_LINE.match(line) for line in raw), raw
    return [parse_line(line) for line in raw]


def output(status: ContainerStatus, stream: str = "stdout") -> list[str]:
    return [line.content.decode() for line in log_lines(status) if line.stream == stream]


async def features(runtime: RuntimeService) -> frozenset[RuntimeFeature]:
    return (await runtime.version()).features


# --- version, sandboxes ---------------------------------------------------------------


async def test_version_names_the_runtime(runtime: RuntimeService, runtime_name: str) -> None:
    version = await runtime.version()
    assert version.runtime_name == runtime_name.partition("-")[0]
    assert version.runtime_version
    if runtime_name != "process":
        assert {RuntimeFeature.ISOLATION, RuntimeFeature.RESOURCE_LIMITS} <= version.features


async def test_sandbox_lifecycle_and_filters(runtime: RuntimeService) -> None:
    web = await new_pod(runtime, app="web")
    db = await new_pod(runtime, app="db")
    status = await runtime.sandbox_status(web)
    assert (status.state, status.config.labels) == (SandboxState.READY, {"app": "web"})
    assert [s.id for s in await runtime.list_sandboxes(SandboxFilter(labels={"app": "db"}))] == [db]
    await runtime.stop_sandbox(web)
    await runtime.stop_sandbox(web)
    ready = await runtime.list_sandboxes(SandboxFilter(state=SandboxState.READY))
    assert [s.id for s in ready] == [db]
    await runtime.remove_sandbox(web)
    await runtime.remove_sandbox(web)
    with pytest.raises(NotFound):
        await runtime.sandbox_status(web)


# --- running, logs, exit codes -----------------------------------------------------------


async def test_container_output_goes_to_the_cri_log(runtime: RuntimeService, rootfs: str) -> None:
    pod = await new_pod(runtime)
    status = await run_to_exit(runtime, pod, config(rootfs, "echo one; echo two >&2; echo three"))
    assert output(status) == ["one", "three"]
    assert output(status, "stderr") == ["two"]
    assert (status.exit_code, status.reason) == (0, "Completed")
    assert status.started_at and status.finished_at and status.started_at <= status.finished_at
    assert status.image == "busybox:test"


# A burst of 200 lines (about 10 KiB under conmon), then 20 lines every 20 ms.
CHATTY = "seq 1 200; echo ready; while :; do yes tick | head -n 20; sleep 0.02; done"
LOG_MAX = 4096


async def test_rotate_logs_moves_conmon_logs_aside(
    runtime: RuntimeService, make_runtime: MakeRuntime, runtime_name: str, rootfs: str
) -> None:
    if runtime_name not in ("crun", "runc"):
        pytest.skip("only conmon leaves rotation to the runtime; CriLogWriter rotates the rest")
    rotating = make_runtime(log_max_bytes=LOG_MAX, log_max_files=2)
    pod = await new_pod(rotating)
    container_id = await run_ready(rotating, pod, config(rootfs, CHATTY))
    live = Path((await rotating.container_status(container_id)).log_path)
    rotated = Path(f"{live}.1")
    await rotating.rotate_logs()
    assert holds(rotated, b" stdout F 1\n")
    await wait_until(lambda: grown(live, LOG_MAX), f"{live} grows past {LOG_MAX} bytes")
    assert not holds(live, b" ready\n")  # a fresh file, which conmon keeps writing to
    await rotating.rotate_logs()
    await wait_until(lambda: grown(live, 0), "conmon reopens the log")
    assert log_files(live) == [rotated, live]  # max_files=2: the first rotated one is gone
    assert not holds(rotated, b" ready\n")
    for path in (rotated, live):
        assert all(CRI_LINE.match(line) for line in path.read_bytes().splitlines())


def holds(path: Path, text: bytes) -> bool:
    return text in path.read_bytes()


def grown(path: Path, size: int) -> bool:
    """``path`` exists and holds more than ``size`` bytes."""
    return path.exists() and path.stat().st_size > size


async def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 20
    while not condition():
        assert time.monotonic() < deadline, f"waited in vain: {what}"
        await asyncio.sleep(0.01)


@pytest.mark.parametrize(("script", "code", "reason"), [("exit 0", 0, "Completed"),
                                                        ("exit 3", 3, "Error")])  # fmt: skip
async def test_exit_codes_are_kept(
    runtime: RuntimeService, rootfs: str, script: str, code: int, reason: str
) -> None:
    status = await run_to_exit(runtime, await new_pod(runtime), config(rootfs, script))
    assert (status.state, status.exit_code, status.reason) == (ContainerState.EXITED, code, reason)
    assert status.pid is None


async def test_a_killed_container_exits_137(runtime: RuntimeService, rootfs: str) -> None:
    container_id = await run_ready(runtime, await new_pod(runtime), config(rootfs, SLEEPER))
    await runtime.stop_container(container_id, timeout=0)
    status = await runtime.container_status(container_id)
    assert (status.exit_code, status.reason) == (137, "Error")


async def test_env_args_and_working_dir(
    runtime: RuntimeService, rootfs: str, tmp_path: Path
) -> None:
    volume = tmp_path / "volume"
    volume.mkdir()
    cfg = config(
        rootfs, 'echo "$GREETING $0 $1"; pwd; echo written > here.txt', args=("first", "second"),
        env={"GREETING": "hello"}, working_dir="/data",
        mounts=(Mount(str(volume), "/data"),),
    )  # fmt: skip
    status = await run_to_exit(runtime, await new_pod(runtime), cfg)
    lines = output(status)
    assert lines[0] == "hello first second"
    isolated = RuntimeFeature.ISOLATION in await features(runtime)
    assert lines[1] == ("/data" if isolated else str(volume))  # process: volumes at host paths
    assert (volume / "here.txt").read_text() == "written\n"


async def test_start_failure_is_reported(runtime: RuntimeService, rootfs: str) -> None:
    pod = await new_pod(runtime)
    cfg = config(rootfs, "", command=("/no/such/binary",))
    with pytest.raises(ContainerRuntimeError):
        container_id = await runtime.create_container(pod, cfg)
        await runtime.start_container(container_id)


async def test_verbs_check_state(runtime: RuntimeService, rootfs: str) -> None:
    pod = await new_pod(runtime)
    with pytest.raises(NotFound):
        await runtime.create_container("no-such-sandbox", config(rootfs, "true"))
    container_id = await runtime.create_container(pod, config(rootfs, "true"))
    assert (await runtime.container_status(container_id)).state is ContainerState.CREATED
    with pytest.raises(InvalidState):
        await runtime.exec_sync(container_id, ["true"], timeout=5)
    await runtime.start_container(container_id)
    await wait_exited(runtime, container_id)
    with pytest.raises(InvalidState):
        await runtime.start_container(container_id)
    await runtime.stop_container(container_id, timeout=1)  # stopping an exited one: no-op
    with pytest.raises(NotFound):
        await runtime.container_status("no-such-container")


async def test_list_containers_filters(runtime: RuntimeService, rootfs: str) -> None:
    first, second = await new_pod(runtime), await new_pod(runtime)
    running = await run_ready(runtime, first, config(rootfs, SLEEPER, labels={"role": "server"}))
    done = await run(runtime, second, config(rootfs, "true", labels={"role": "job"}))
    await wait_exited(runtime, done)

    async def ids(flt: ContainerFilter) -> list[str]:
        return [c.id for c in await runtime.list_containers(flt)]

    assert sorted(await ids(ContainerFilter())) == sorted([running, done])
    assert await ids(ContainerFilter(sandbox_id=second)) == [done]
    assert await ids(ContainerFilter(state=ContainerState.RUNNING)) == [running]
    assert await ids(ContainerFilter(labels={"role": "job"})) == [done]
    await runtime.stop_container(running, timeout=5)


# --- stop --------------------------------------------------------------------------------


async def test_stop_lets_a_term_handler_exit_cleanly(runtime: RuntimeService, rootfs: str) -> None:
    container_id = await run_ready(runtime, await new_pod(runtime), config(rootfs, SLEEPER))
    started = time.monotonic()
    await runtime.stop_container(container_id, timeout=10)
    assert time.monotonic() - started < 5
    status = await runtime.container_status(container_id)
    assert (status.exit_code, status.reason) == (0, "Completed")


async def test_stop_kills_after_the_grace_period(runtime: RuntimeService, rootfs: str) -> None:
    container_id = await run_ready(runtime, await new_pod(runtime), config(rootfs, STUBBORN))
    started = time.monotonic()
    await runtime.stop_container(container_id, timeout=0.5)
    assert 0.5 <= time.monotonic() - started < 5
    assert (await runtime.container_status(container_id)).exit_code == 137


# --- exec --------------------------------------------------------------------------------


async def test_exec_sync_returns_exit_code_and_output(runtime: RuntimeService, rootfs: str) -> None:
    cfg = config(rootfs, SLEEPER, env={"WHO": "ctr"})
    container_id = await run_ready(runtime, await new_pod(runtime), cfg)
    result = await runtime.exec_sync(
        container_id, ["sh", "-c", "echo out $WHO; echo err >&2; exit 7"], timeout=10
    )
    assert result == (7, b"out ctr\n", b"err\n")
    with pytest.raises(ExecTimeout):
        await runtime.exec_sync(container_id, ["sleep", "30"], timeout=0.3)
    await runtime.stop_container(container_id, timeout=5)


async def test_exec_streams_stdin_and_tty(runtime: RuntimeService, rootfs: str) -> None:
    container_id = await run_ready(runtime, await new_pod(runtime), config(rootfs, SLEEPER))
    session = await runtime.exec(container_id, ["cat"], stdin=True)
    assert session.stdin is not None
    session.stdin.write(b"through stdin\n")
    await session.stdin.drain()
    session.stdin.close()
    assert await session.stdout.read() == b"through stdin\n"
    assert await session.wait() == 0
    script = "test -t 0 && test -t 1 && echo is-a-tty; sleep 0.5; stty size"
    tty = await runtime.exec(container_id, ["sh", "-c", script], tty=True)
    tty.resize(rows=40, cols=100)
    assert tty.stderr is None
    assert (await tty.stdout.read()).split() == [b"is-a-tty", b"40", b"100"]
    assert await tty.wait() == 0
    await runtime.stop_container(container_id, timeout=5)


# --- resources ---------------------------------------------------------------------------

HOG = "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo ${#x}"


async def test_exceeding_the_memory_limit(runtime: RuntimeService, rootfs: str) -> None:
    cfg = config(rootfs, HOG, resources=Resources(memory_limit=64 * 1024 * 1024))
    status = await run_to_exit(runtime, await new_pod(runtime), cfg)
    if RuntimeFeature.OOM_DETECTION in await features(runtime):
        assert (status.exit_code, status.reason) == (137, "OOMKilled")
    else:  # documented: limits are not enforced, OOMKilled is never reported
        assert (status.exit_code, status.reason, output(status)) == (0, "Completed", ["200000000"])


FORKER = "for i in $(seq 20); do sleep 5 & done; echo done"


async def test_pids_limit(runtime: RuntimeService, rootfs: str) -> None:
    cfg = config(rootfs, FORKER, resources=Resources(pids_limit=10))
    status = await run_to_exit(runtime, await new_pod(runtime), cfg)
    if RuntimeFeature.RESOURCE_LIMITS in await features(runtime):
        assert any("can't fork" in line for line in output(status, "stderr"))
    else:  # documented: not enforced
        assert not output(status, "stderr")


async def test_update_container_resources(runtime: RuntimeService, rootfs: str) -> None:
    container_id = await run_ready(runtime, await new_pod(runtime), config(rootfs, SLEEPER,
                                                  resources=Resources(pids_limit=50)))  # fmt: skip
    await runtime.update_container_resources(container_id, Resources(pids_limit=30))
    if RuntimeFeature.RESOURCE_LIMITS in await features(runtime):
        result = await runtime.exec_sync(
            container_id, ["cat", "/sys/fs/cgroup/pids/pids.max"], timeout=10
        )
        assert result.stdout.strip() == b"30"
    await runtime.stop_container(container_id, timeout=5)


# --- isolation (OCI) ---------------------------------------------------------------------


async def test_isolation(runtime: RuntimeService, rootfs: str, tmp_path: Path) -> None:
    if RuntimeFeature.ISOLATION not in await features(runtime):
        pytest.skip("documented: the process runtime has no isolation")
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    script = (
        "hostname; id -u; echo $$; grep Seccomp: /proc/self/status; "
        "touch /ro/file 2>/dev/null || echo read-only; touch /rw/file && echo writable"
    )
    mounts = (Mount(str(shared), "/ro", readonly=True), Mount(str(shared), "/rw"))
    cfg = config(rootfs, script, user=User(1000, 1000), mounts=mounts)
    status = await run_to_exit(runtime, await new_pod(runtime), cfg)
    assert output(status) == ["podhost", "1000", "1", "Seccomp:\t2", "read-only", "writable"]
    assert (shared / "file").stat().st_uid == 1000


# --- adoption and removal ----------------------------------------------------------------


async def test_a_new_instance_adopts_running_containers(
    runtime: RuntimeService, make_runtime: MakeRuntime, rootfs: str
) -> None:
    pod = await new_pod(runtime)
    long_running = await run_ready(runtime, pod, config(rootfs, SLEEPER))
    short = await run(runtime, pod, config(rootfs, "sleep 1; exit 4"))
    before = await runtime.container_status(long_running)
    adopted = make_runtime()
    after = await adopted.container_status(long_running)
    assert (after.state, after.pid) == (ContainerState.RUNNING, before.pid)
    assert (await adopted.sandbox_status(pod)).state is SandboxState.READY
    assert (await wait_exited(adopted, short)).exit_code == 4
    await adopted.stop_container(long_running, timeout=5)
    assert (await runtime.container_status(long_running)).exit_code == 0


AGENT = """
import asyncio, sys
from steersman.kubelet.runtime.interface import ContainerConfig, ImageSpec, PodSandboxConfig
from steersman.kubelet.runtime.oci import OciRuntime
from steersman.kubelet.runtime.process import ProcessRuntime

async def main(name, state, parent, rootfs, script):
    binary, _, shim = name.partition("-")
    runtime = ProcessRuntime(state) if name == "process" else OciRuntime(
        state, binary=binary, cgroup_parent=parent, use_conmon=shim != "supervisor")
    pod = await runtime.run_sandbox(PodSandboxConfig("pod", "default", "uid-agent"))
    config = ContainerConfig("main", ImageSpec("busybox", rootfs=rootfs),
                             command=("sh", "-c", script))
    container = await runtime.create_container(pod, config)
    await runtime.start_container(container)
    print(container)

asyncio.run(main(*sys.argv[1:]))
"""


async def test_containers_outlive_the_agent_process(
    runtime: RuntimeService, runtime_name: str, tmp_path: Path, cgroup_parent: str, rootfs: str
) -> None:
    agent = await asyncio.create_subprocess_exec(
        sys.executable, "-c", AGENT, runtime_name, str(tmp_path / "state"), cgroup_parent,
        rootfs, SLEEPER, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    container_id = (await agent.communicate())[0].decode().strip()
    assert agent.returncode == 0
    await wait_ready(runtime, container_id)
    status = await runtime.container_status(container_id)
    assert status.state is ContainerState.RUNNING
    await runtime.stop_container(container_id, timeout=5)
    assert (await runtime.container_status(container_id)).exit_code == 0


async def test_remove_cleans_state(
    runtime: RuntimeService, rootfs: str, tmp_path: Path, cgroup_parent: str, runtime_name: str
) -> None:
    pod = await new_pod(runtime)
    container_id = await run(
        runtime, pod, config(rootfs, SLEEPER, resources=Resources(pids_limit=20))
    )
    await runtime.remove_container(container_id)
    await runtime.remove_container(container_id)
    with pytest.raises(NotFound):
        await runtime.container_status(container_id)
    assert not (tmp_path / "state" / "containers" / container_id).exists()
    await run_ready(runtime, pod, config(rootfs, SLEEPER))
    await runtime.remove_sandbox(pod)
    assert await runtime.list_containers() == []
    assert await runtime.list_sandboxes() == []
    assert list((tmp_path / "state" / "containers").iterdir()) == []
    assert cgroup_dirs(cgroup_parent) == []


def cgroup_dirs(parent: str) -> list[Path]:
    """The directories ``parent`` has in any cgroup hierarchy."""
    mounts = cgroups.cgroup_mounts()
    return [m.path / parent.lstrip("/") for m in mounts if (m.path / parent.lstrip("/")).exists()]
