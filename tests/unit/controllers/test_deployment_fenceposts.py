"""maxSurge / maxUnavailable resolution, rounding as upstream does."""

from __future__ import annotations

from typing import Any

import pytest

from steersman.controllers.deployment.fenceposts import (
    max_surge,
    max_unavailable,
    resolve_fenceposts,
    scaled_value,
)


@pytest.mark.parametrize(("value", "total", "up", "expected"), [
    (None, 10, True, 0), (3, 10, True, 3), ("25%", 10, True, 3), ("25%", 10, False, 2),
    ("25%", 3, True, 1), ("25%", 3, False, 0), ("100%", 7, False, 7), ("0%", 7, True, 0)])
def test_scaled_value(value: int | str | None, total: int, up: bool, expected: int) -> None:
    assert scaled_value(value, total, round_up=up) == expected


def test_scaled_value_rejects_non_percent_strings() -> None:
    with pytest.raises(ValueError, match="not a percentage"):
        scaled_value("three", 10, round_up=True)


@pytest.mark.parametrize(("surge", "unavailable", "desired", "expected"), [
    ("25%", "25%", 4, (1, 1)), ("25%", "25%", 3, (1, 0)), ("0%", "10%", 5, (0, 1)),
    (0, 0, 5, (0, 1)), (2, "50%", 5, (2, 2))])
def test_resolve_fenceposts(surge: Any, unavailable: Any, desired: int,
                            expected: tuple[int, int]) -> None:
    assert resolve_fenceposts(surge, unavailable, desired) == expected


def deployment(replicas: int, strategy: dict[str, Any]) -> dict[str, Any]:
    return {"spec": {"replicas": replicas, "strategy": strategy}}


def test_max_unavailable_is_capped_and_zero_when_not_rolling() -> None:
    rolling = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 9}}
    assert max_unavailable(deployment(3, rolling)) == 3
    assert max_unavailable(deployment(0, rolling)) == 0
    assert max_unavailable(deployment(3, {"type": "Recreate"})) == 0
    assert max_surge(deployment(3, {"type": "Recreate"})) == 0
    assert max_surge(deployment(10, {"type": "RollingUpdate"})) == 3  # the 25% default
