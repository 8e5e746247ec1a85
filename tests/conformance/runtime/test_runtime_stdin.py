"""``attach_stdin`` (``kubectl attach -i``), run against every runtime.

The process runtime keeps the stdin of a container created with ``stdin`` open and feeds
it what each attach writes (``stdin_once``: the first attach's end closes it); the OCI
runtimes keep no stdin and refuse. Every runtime refuses a container without ``stdin``.
"""

from __future__ import annotations

import pytest

from steersman.kubelet.runtime.interface import InvalidState, RuntimeService, Unsupported
from tests.conformance.runtime.test_runtime_conformance import (
    SLEEPER,
    config,
    new_pod,
    output,
    run,
    run_ready,
    wait_exited,
    wait_ready,
)

pytestmark = pytest.mark.timeout(60)


async def test_a_container_without_stdin_refuses_attach(runtime: RuntimeService,
                                                        rootfs: str) -> None:
    container_id = await run_ready(runtime, await new_pod(runtime), config(rootfs, SLEEPER))
    with pytest.raises(InvalidState, match="was not created with stdin: true"):
        await runtime.attach_stdin(container_id)
    await runtime.stop_container(container_id, timeout=5)


async def test_stdin_once_ends_with_the_first_attach(runtime: RuntimeService,
                                                     runtime_name: str, rootfs: str) -> None:
    if runtime_name != "process":
        await _assert_refused(runtime, rootfs)
        return
    cat = config(rootfs, "cat; echo done", stdin=True, stdin_once=True)
    container_id = await run(runtime, await new_pod(runtime), cat)
    stdin = await runtime.attach_stdin(container_id)
    stdin.write(b"hello\n")
    await stdin.drain()
    stdin.close()
    status = await wait_exited(runtime, container_id)
    assert (status.exit_code, output(status)) == (0, ["hello", "done"])


async def test_stdin_stays_open_across_attaches(runtime: RuntimeService,
                                                runtime_name: str, rootfs: str) -> None:
    if runtime_name != "process":
        await _assert_refused(runtime, rootfs)
        return
    script = "read first; read second; echo $first $second"
    container_id = await run(runtime, await new_pod(runtime),
                             config(rootfs, f"{script}; {SLEEPER}", stdin=True))
    for line in (b"one\n", b"two\n"):
        stdin = await runtime.attach_stdin(container_id)
        stdin.write(line)
        await stdin.drain()
        stdin.close()
    await wait_ready(runtime, container_id)  # SLEEPER starts once both lines were read
    await runtime.stop_container(container_id, timeout=5)
    status = await wait_exited(runtime, container_id)
    assert output(status) == ["one two", "ready"]


async def _assert_refused(runtime: RuntimeService, rootfs: str) -> None:
    """What a runtime that keeps no stdin does: refuse, saying so."""
    container_id = await run_ready(runtime, await new_pod(runtime),
                                   config(rootfs, SLEEPER, stdin=True))
    with pytest.raises(Unsupported, match="does not keep a container's stdin open"):
        await runtime.attach_stdin(container_id)
    await runtime.stop_container(container_id, timeout=5)
