"""Requests and limits as cgroup values, with the kubelet's conversions."""

from __future__ import annotations

from typing import Any

import pytest

from steersman.kubelet.agent.cri import Resources
from steersman.kubelet.agent.downward import ContainerConfigError
from steersman.kubelet.agent.resources import container_resources


@pytest.mark.parametrize(("resources", "expected"), [
    ({}, Resources(cpu_shares=2)),  # BestEffort: the minimum weight, no limits
    ({"requests": {"cpu": "250m", "memory": "64Mi"}}, Resources(cpu_shares=256)),
    ({"requests": {"cpu": "1m"}}, Resources(cpu_shares=2)),
    ({"limits": {"cpu": "500m", "memory": "64Mi"}},  # the limit is the request too
     Resources(cpu_shares=512, cpu_quota=50_000, cpu_period=100_000,
               memory_limit=64 << 20)),
    ({"requests": {"cpu": "100m"}, "limits": {"cpu": "2"}},
     Resources(cpu_shares=102, cpu_quota=200_000, cpu_period=100_000)),
    ({"limits": {"cpu": "1m"}}, Resources(cpu_shares=2, cpu_quota=1_000, cpu_period=100_000)),
    ({"limits": {"memory": "1G"}}, Resources(cpu_shares=2, memory_limit=10**9)),
])
def test_container_resources(resources: dict[str, Any], expected: Resources) -> None:
    assert container_resources({"name": "c", "resources": resources}) == expected


def test_a_bad_quantity_is_a_config_error() -> None:
    with pytest.raises(ContainerConfigError, match="invalid memory quantity 'lots'"):
        container_resources({"name": "c", "resources": {"limits": {"memory": "lots"}}})
