"""The CronJob controller in virtual time against a real ``steersman server``.

The server runs every controller except ``cronjob``; the test runs its own
:class:`CronJobController` with a :class:`FakeClock` and calls ``reconcile`` directly, so
minutes pass without waiting for them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from steersman.api.errors import StatusError
from steersman.api.meta import parse_time
from steersman.client import CRONJOBS, JOBS, NAMESPACES, Client, FakeClock, load_kubeconfig
from steersman.controllers.cronjob import CronJobController
from steersman.controllers.runtime import InformerFactory
from tests.e2e.harness import ServerProcess, start_server

Object = dict[str, Any]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_server(tmp_path_factory.mktemp("cron-server"), "--controllers", "*,-cronjob")
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
async def client(server: ServerProcess) -> AsyncIterator[Client]:
    async with Client(load_kubeconfig(server.kubeconfig)) as api:
        yield api


async def reconcile(controller: CronJobController, key: str) -> float | None:
    """Reconcile as the work queue would: again after a conflict with a stale cache."""
    for _ in range(50):
        try:
            return await controller.reconcile(key)
        except StatusError as err:
            if err.code != 409:
                raise
            await asyncio.sleep(0.1)
    raise AssertionError("conflicts did not stop")


async def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


def cronjob(namespace: str, policy: str) -> Object:
    return {"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": "tick", "namespace": namespace},
            "spec": {"schedule": "* * * * *", "concurrencyPolicy": policy,
                     "jobTemplate": {"spec": {"template": {"spec": {
                         "restartPolicy": "Never",
                         "containers": [{"name": "c", "image": "busybox"}]}}}}}}


@pytest.mark.parametrize("policy", ["Allow", "Forbid"])
async def test_one_job_per_minute_in_virtual_time(client: Client, policy: str) -> None:
    namespace = f"t-{uuid.uuid4().hex[:8]}"
    await client.create(NAMESPACES, {"metadata": {"name": namespace}})
    created = await client.create(CRONJOBS, cronjob(namespace, policy))
    born = parse_time(created["metadata"]["creationTimestamp"]).timestamp()
    clock = FakeClock(start=(born // 60 + 2) * 60 + 5)  # 2 minutes and 5 s later
    controller = CronJobController(client, clock=clock)
    factory = InformerFactory(client)
    controller.setup(factory)
    factory.start()
    try:
        await factory.wait_synced()
        jobs = factory.informer(JOBS)
        key = f"{namespace}/tick"
        await eventually(lambda: controller._cronjobs.indexer.get(key) is not None)
        delay = await reconcile(controller, key)
        minute = int(clock.now()) // 60
        assert delay == pytest.approx(55.1)
        await eventually(lambda: len(jobs.indexer.by_index("namespace", namespace)) == 1)
        assert jobs.indexer.get(f"{namespace}/tick-{minute}") is not None
        await eventually(lambda: bool((controller._cronjobs.indexer.get(key) or {}).get("status")))
        status = controller._cronjobs.indexer.get(key)["status"]  # type: ignore[index]
        assert status["lastScheduleTime"] == datetime.fromtimestamp(
            minute * 60, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert [ref["name"] for ref in status["active"]] == [f"tick-{minute}"]
        await reconcile(controller, key)  # the same minute again: no second Job
        clock.advance(60)
        await reconcile(controller, key)
        expected = 1 if policy == "Forbid" else 2
        await asyncio.sleep(0.3)
        await eventually(lambda: len(jobs.indexer.by_index("namespace", namespace)) == expected)
    finally:
        await factory.stop()
