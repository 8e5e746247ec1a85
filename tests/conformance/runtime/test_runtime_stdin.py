"""``attach_stdin`` (``kubectl attach -i``), run against every runtime.

The process runtime and the OCI runtimes under conmon keep the stdin of a container
created with ``stdin`` open and feed it what each attach writes (``stdin_once``: the first
attach's end closes it, and a later attach is refused); the OCI runtimes under the
supervisor shim keep no stdin and refuse. Every runtime refuses a container without
``stdin``.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from steersman.kubelet.runtime.interface import InvalidState, RuntimeService, Unsupported
from tests.conformance.runtime.test_runtime_conformance import (
    SLEEPER,
    config,
    holds,
    new_pod,
    output,
    run,
    run_ready,
    wait_exited,
    wait_ready,
    wait_until,
)

pytestmark = pytest.mark.timeout(60)


async def test_a_container_without_stdin_refuses_attach(runtime: RuntimeService,
                                                        rootfs: str) -> None:
    container_id = await run_ready(runtime, await new_pod(runtime), config(rootfs, SLEEPER))
    with pytest.raises(InvalidState, match="was not created with stdin: true"):
        await runtime.attach_stdin(container_id)
    await runtime.stop_container(container_id, timeout=5)


def keeps_stdin(runtime_name: str) -> bool:
    return not runtime_name.endswith("-supervisor")


async def test_stdin_once_ends_with_the_first_attach(runtime: RuntimeService,
                                                     runtime_name: str, rootfs: str) -> None:
    if not keeps_stdin(runtime_name):
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


async def test_stdin_once_refuses_a_second_attach(runtime: RuntimeService,
                                                  runtime_name: str, rootfs: str) -> None:
    if not keeps_stdin(runtime_name):
        await _assert_refused(runtime, rootfs)
        return
    cat = config(rootfs, f"cat; {SLEEPER}", stdin=True, stdin_once=True)
    container_id = await run(runtime, await new_pod(runtime), cat)
    stdin = await runtime.attach_stdin(container_id)
    stdin.close()
    await wait_ready(runtime, container_id)  # cat saw the end of its stdin
    with pytest.raises(InvalidState, match="stdin is closed"):
        await runtime.attach_stdin(container_id)
    await runtime.stop_container(container_id, timeout=5)


async def test_stdin_stays_open_across_attaches(runtime: RuntimeService,
                                                runtime_name: str, rootfs: str) -> None:
    if not keeps_stdin(runtime_name):
        await _assert_refused(runtime, rootfs)
        return
    script = "read first; echo got $first; read second; echo $first $second"
    container_id = await run(runtime, await new_pod(runtime),
                             config(rootfs, f"{script}; {SLEEPER}", stdin=True))
    log = Path((await runtime.container_status(container_id)).log_path)
    for line, echoed in ((b"one\n", b" got one\n"), (b"two\n", b" one two\n")):
        stdin = await runtime.attach_stdin(container_id)
        stdin.write(line)
        await stdin.drain()
        stdin.close()
        # each attach is its own connection to a shim: wait, or the next may overtake it
        await wait_until(partial(holds, log, echoed), f"{line!r} read")
    await wait_ready(runtime, container_id)  # SLEEPER starts once both lines were read
    await runtime.stop_container(container_id, timeout=5)
    status = await wait_exited(runtime, container_id)
    assert output(status) == ["got one", "one two", "ready"]


async def _assert_refused(runtime: RuntimeService, rootfs: str) -> None:
    """What a runtime that keeps no stdin does: refuse, saying so."""
    container_id = await run_ready(runtime, await new_pod(runtime),
                                   config(rootfs, SLEEPER, stdin=True))
    with pytest.raises(Unsupported, match="does not keep a container's stdin open"):
        await runtime.attach_stdin(container_id)
    await runtime.stop_container(container_id, timeout=5)
