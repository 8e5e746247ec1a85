"""How far a rolling update may go beyond, or below, the desired replica count.

kubernetes ``intstr.GetScaledValueFromIntOrPercent`` and ``deploymentutil``'s
``ResolveFenceposts``/``MaxSurge``/``MaxUnavailable``: a percentage of the desired
replicas rounds *up* for ``maxSurge`` and *down* for ``maxUnavailable``; when both come out
as 0 (validation forbids writing both as 0, rounding can still get there) ``maxUnavailable``
becomes 1 so the rollout can move; ``maxUnavailable`` never exceeds the replicas.
"""

from __future__ import annotations

from typing import Any

Object = dict[str, Any]
IntOrPercent = int | str | None


def scaled_value(value: IntOrPercent, total: int, *, round_up: bool) -> int:
    """An int as is, or ``"N%"`` of ``total`` rounded as asked."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    text = value.strip()
    if not text.endswith("%") or not text[:-1].isdigit():
        raise ValueError(f"invalid value for IntOrString: {value!r} is not a percentage")
    scaled = int(text[:-1]) * total
    return -(-scaled // 100) if round_up else scaled // 100


def resolve_fenceposts(max_surge: IntOrPercent, max_unavailable: IntOrPercent,
                       desired: int) -> tuple[int, int]:
    """(surge, unavailable) for ``desired`` replicas."""
    surge = scaled_value(max_surge, desired, round_up=True)
    unavailable = scaled_value(max_unavailable, desired, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def desired_replicas(deployment: Object) -> int:
    replicas = (deployment.get("spec") or {}).get("replicas")
    return int(replicas) if isinstance(replicas, int) else 1


def strategy_type(deployment: Object) -> str:
    strategy = (deployment.get("spec") or {}).get("strategy") or {}
    return str(strategy.get("type") or "RollingUpdate")


def is_rolling_update(deployment: Object) -> bool:
    return strategy_type(deployment) == "RollingUpdate"


def _rolling_params(deployment: Object) -> tuple[IntOrPercent, IntOrPercent]:
    strategy = (deployment.get("spec") or {}).get("strategy") or {}
    rolling = strategy.get("rollingUpdate") or {}
    return rolling.get("maxSurge", "25%"), rolling.get("maxUnavailable", "25%")


def max_surge(deployment: Object) -> int:
    if not is_rolling_update(deployment):
        return 0
    surge, unavailable = _rolling_params(deployment)
    return resolve_fenceposts(surge, unavailable, desired_replicas(deployment))[0]


def max_unavailable(deployment: Object) -> int:
    desired = desired_replicas(deployment)
    if not is_rolling_update(deployment) or desired == 0:
        return 0
    surge, unavailable = _rolling_params(deployment)
    return min(resolve_fenceposts(surge, unavailable, desired)[1], desired)
