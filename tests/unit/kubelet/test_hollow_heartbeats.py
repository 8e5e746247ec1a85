"""Heartbeats in virtual time: spread, periodic, bounded, backing off after failures."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

import pytest

from steersman.client import FakeClock
from steersman.kubelet.hollow.config import HollowConfig
from steersman.kubelet.hollow.heartbeats import (
    Beat,
    BeatSchedule,
    Due,
    Heartbeats,
    jittered,
    lease_retry_delay,
)
from steersman.kubelet.hollow.registration import HollowNode, new_hollow_node
from tests.unit.kubelet.fake_api import FakeAPI


async def run_for(clock: FakeClock, seconds: float, step: float = 0.05) -> None:
    for _ in range(round(seconds / step)):
        clock.advance(step)
        for _ in range(5):
            await asyncio.sleep(0)


def nodes(config: HollowConfig) -> list[HollowNode]:
    rng = random.Random(0)
    return [new_hollow_node(config, i, rng) for i in range(config.count)]


def test_schedule_pops_due_beats_in_order() -> None:
    schedule = BeatSchedule()
    for at, node in ((3.0, 1), (1.0, 2), (2.0, 3)):
        schedule.push(Due(at, Beat.LEASE, node))
    assert schedule.next_at() == 1.0
    assert [d.node for d in schedule.pop_due(2.5)] == [2, 3]
    assert len(schedule) == 1


def test_jitter_and_backoff() -> None:
    rng = random.Random(0)
    assert all(10.0 <= jittered(10.0, 0.04, rng) <= 10.4 for _ in range(100))
    assert jittered(10.0, 0.0, rng) == 10.0
    assert [lease_retry_delay(n) for n in (1, 2, 3, 6, 10)] == [0.2, 0.4, 0.8, 6.4, 7.0]


async def start(count: int, **overrides: Any) -> tuple[FakeAPI, FakeClock, Heartbeats,
                                                        asyncio.Task[None]]:
    config = HollowConfig(count=count, **overrides)
    api, clock = FakeAPI(), FakeClock()
    beats = Heartbeats(api, config, nodes(config), clock=clock,  # type: ignore[arg-type]
                       rng=random.Random(1))
    beats.spread(clock.now())
    return api, clock, beats, asyncio.create_task(beats.run())


async def test_leases_renew_every_ten_seconds_spread_over_the_interval() -> None:
    api, clock, beats, task = await start(50)
    await run_for(clock, 9.95)
    first_interval = beats.lease_writes  # a node's next write comes 10 s after its first
    await run_for(clock, 0.55)
    assert Counter(name for verb, plural, name in api.calls if plural == "leases"
                   and verb == "create") == {f"hollow-{i}": 1 for i in range(50)}
    await run_for(clock, 20)
    task.cancel()
    per_node = Counter(name for _, plural, name in api.calls if plural == "leases")
    assert set(per_node.values()) <= {3}, per_node  # at 0-10 s, then about 10 s and 20 s later
    assert 0 < first_interval <= 50
    assert api.count("update", "leases") == 100


async def test_status_is_refreshed_rarely() -> None:
    api, clock, _, task = await start(10, status_interval=60.0, status_jitter=0.5)
    await run_for(clock, 60.1)
    assert set(patches_per_node(api).values()) <= {1, 2}
    assert len(patches_per_node(api)) == 10
    await run_for(clock, 90)
    task.cancel()
    assert set(patches_per_node(api).values()) <= {2, 3}


def patches_per_node(api: FakeAPI) -> Counter[str]:
    return Counter(name for verb, plural, name in api.calls if (verb, plural) == ("patch", "nodes"))


async def test_requests_in_flight_are_bounded() -> None:
    api, clock, _, task = await start(200, max_in_flight=4, renew_interval=0.1)
    await run_for(clock, 1)
    task.cancel()
    assert api.count("create", "leases") > 8
    assert api.max_in_flight == 4


async def test_failed_renewals_retry_with_backoff() -> None:
    api, clock, _, task = await start(1)
    api.fail = 500
    while not api.calls:
        await run_for(clock, 0.05)
    await run_for(clock, 1.7)  # retries about 0.2, 0.6 and 1.4 s after the first failure
    assert api.count("create", "leases") == 4
    api.fail = None
    await run_for(clock, 1.8)  # the next retry, 1.6 s later, succeeds
    assert api.count("create", "leases") == 5
    await run_for(clock, 9.0)  # then back to one renewal per 10 s
    task.cancel()
    assert api.count("create", "leases") + api.count("update", "leases") == 5


@pytest.mark.parametrize("code", [404, 409])
async def test_lease_renewal_recovers_from_deleted_or_changed_lease(code: int) -> None:
    api, clock, beats, task = await start(1)
    await run_for(clock, 10.1)
    lease = api.objects[("leases", "hollow-0")]
    if code == 404:
        del api.objects[("leases", "hollow-0")]
    else:
        api.objects[("leases", "hollow-0")] = {
            **lease, "metadata": {**lease["metadata"], "resourceVersion": "999"}}
    await run_for(clock, 10.5)
    task.cancel()
    assert ("leases", "hollow-0") in api.objects
    assert beats.lease_writes == 2
