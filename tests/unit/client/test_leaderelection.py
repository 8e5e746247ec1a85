"""Leader election settings and lease expiry rules (the election itself: tests/integration)."""

from __future__ import annotations

from typing import Any

import pytest

from steersman.api.meta import micro_time
from steersman.client import Client, ClientConfig, LeaderElector
from steersman.client.leaderelection import _expired


async def lead() -> None:
    return None


@pytest.mark.parametrize(("duration", "deadline", "retry"), [
    (10, 10, 2),    # the lease must outlast the renew deadline
    (15, 2, 2),     # the deadline must leave room for a jittered retry
    (15, 10, 0),
])
def test_inconsistent_timing_is_rejected(duration: float, deadline: float, retry: float) -> None:
    with pytest.raises(ValueError):
        LeaderElector(Client(ClientConfig(server="http://127.0.0.1:1")), name="l",
                      namespace="ns", identity="me", on_started_leading=lead,
                      lease_duration=duration, renew_deadline=deadline, retry_period=retry)


@pytest.mark.parametrize(("spec", "expired"), [
    ({}, True),
    ({"renewTime": micro_time(100.0), "leaseDurationSeconds": 15}, False),
    ({"renewTime": micro_time(80.0), "leaseDurationSeconds": 15}, True),
    ({"renewTime": "garbage", "leaseDurationSeconds": 15}, True),
])
def test_a_lease_expires_when_renew_time_plus_duration_has_passed(
        spec: dict[str, Any], expired: bool) -> None:
    assert _expired(spec, now=100.0) is expired
