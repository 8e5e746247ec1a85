"""From the metrics' proposal to the replica count applied: stabilization and rate limits.

kubernetes ``horizontal.go``'s normalization, per HPA key, with time injected:

* without ``spec.behavior``: the highest recommendation of the last 5 minutes wins
  (scale-down stabilization), then the count is kept within ``[minReplicas,
  min(maxReplicas, max(2 * current, 4))]``;
* with ``spec.behavior`` (unset fields take the API defaults: scale-up window 0 and
  policies "4 pods or 100 % per 15 s, whichever is more"; scale-down window 300 s and
  "100 % per 15 s"): recommendations within the direction's window are stabilized (lowest
  for a scale-up, highest for a scale-down), then limited by the policies over the scale
  events of their periods (``selectPolicy`` Max, Min or Disabled).

:class:`Normalizer` remembers the recommendations and scale events; :class:`Outcome`
carries the count and the reasons for the ``AbleToScale`` and ``ScalingLimited``
conditions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_SCALE_DOWN_WINDOW = 300
_WITHIN = ("DesiredWithinRange", "the desired count is within the acceptable range")
_READY = ("ReadyForNewScale", "recommended size matches current size")
_UP_STABILIZED = ("ScaleUpStabilized", "recent recommendations were lower than current one, "
                  "applying the lowest recent recommendation")
_DOWN_STABILIZED = ("ScaleDownStabilized", "recent recommendations were higher than current "
                    "one, applying the highest recent recommendation")
_UP_LIMIT = ("ScaleUpLimit", "the desired replica count is increasing faster than the maximum "
             "scale rate")
_DOWN_LIMIT = ("ScaleDownLimit", "the desired replica count is decreasing faster than the "
               "maximum scale rate")
_TOO_MANY = ("TooManyReplicas", "the desired replica count is more than the maximum replica "
             "count")
_TOO_FEW = ("TooFewReplicas", "the desired replica count is less than the minimum replica "
            "count")


@dataclass(frozen=True)
class Policy:
    type: str  # Pods | Percent
    value: int
    period: int


@dataclass(frozen=True)
class Rules:
    window: int
    select: str  # Max | Min | Disabled
    policies: tuple[Policy, ...]


@dataclass(frozen=True)
class Outcome:
    replicas: int
    stabilized: tuple[str, str]  # AbleToScale reason and message
    limited: bool
    limit: tuple[str, str]  # ScalingLimited reason and message


@dataclass
class _History:
    recommendations: list[tuple[int, float]] = field(default_factory=list)
    ups: list[tuple[int, float]] = field(default_factory=list)
    downs: list[tuple[int, float]] = field(default_factory=list)


def scaling_rules(behavior: Mapping[str, Any] | None) -> tuple[Rules, Rules]:
    """(scale-up, scale-down) rules with the API's defaults for what is unset."""
    behavior = behavior or {}
    up = behavior.get("scaleUp") or {}
    down = behavior.get("scaleDown") or {}
    up_policies = _policies(up) or (Policy("Pods", 4, 15), Policy("Percent", 100, 15))
    down_policies = _policies(down) or (Policy("Percent", 100, 15),)
    return (Rules(_int(up.get("stabilizationWindowSeconds"), 0),
                  str(up.get("selectPolicy") or "Max"), up_policies),
            Rules(_int(down.get("stabilizationWindowSeconds"), DEFAULT_SCALE_DOWN_WINDOW),
                  str(down.get("selectPolicy") or "Max"), down_policies))


def _policies(rules: Mapping[str, Any]) -> tuple[Policy, ...]:
    return tuple(Policy(str(p.get("type")), int(p.get("value") or 0),
                        int(p.get("periodSeconds") or 0)) for p in rules.get("policies") or [])


def _int(value: Any, default: int) -> int:
    return default if value is None else int(value)


class Normalizer:
    """Recommendations and scale events per HPA, and the normalization over them."""

    def __init__(self) -> None:
        self._history: dict[str, _History] = {}

    def forget(self, key: str) -> None:
        self._history.pop(key, None)

    def normalize(self, key: str, *, current: int, desired: int, min_replicas: int,
                  max_replicas: int, behavior: Mapping[str, Any] | None,
                  now: float) -> Outcome:
        history = self._history.setdefault(key, _History())
        if behavior is None:
            stable = _stabilize_down(history, desired, now)
            replicas, limit = _within_rules(current, stable, min_replicas, max_replicas)
        else:
            up, down = scaling_rules(behavior)
            stable = _stabilize(history, current, desired, up, down, now)
            replicas, limit = _within_rates(history, current, stable, min_replicas,
                                            max_replicas, up, down, now)
        if stable == desired:
            reason = _READY
        else:
            reason = _UP_STABILIZED if behavior is not None and desired >= current \
                else _DOWN_STABILIZED
        return Outcome(replicas, reason, replicas != stable, limit)

    def record_scale(self, key: str, *, behavior: Mapping[str, Any] | None, before: int,
                     after: int, now: float) -> None:
        history = self._history.setdefault(key, _History())
        up, down = scaling_rules(behavior)
        longest = max((p.period for p in (*up.policies, *down.policies)), default=0)
        history.ups = [e for e in history.ups if e[1] > now - longest]
        history.downs = [e for e in history.downs if e[1] > now - longest]
        if after > before:
            history.ups.append((after - before, now))
        elif after < before:
            history.downs.append((before - after, now))


def _remember(history: _History, desired: int, now: float, keep: float) -> None:
    history.recommendations = [r for r in history.recommendations if r[1] >= now - keep]
    history.recommendations.append((desired, now))


def _stabilize_down(history: _History, desired: int, now: float) -> int:
    cutoff = now - DEFAULT_SCALE_DOWN_WINDOW
    best = max([desired, *(r for r, at in history.recommendations if at >= cutoff)])
    _remember(history, desired, now, DEFAULT_SCALE_DOWN_WINDOW)
    return best


def _stabilize(history: _History, current: int, desired: int, up: Rules, down: Rules,
               now: float) -> int:
    rules, better = (up, min) if desired >= current else (down, max)
    cutoff = now - rules.window
    recent = [r for r, at in history.recommendations if at > cutoff]
    best = better([desired, *recent])
    _remember(history, desired, now, max(up.window, down.window))
    return best


def _within_rules(current: int, desired: int, low: int, high: int) -> tuple[int, tuple[str, str]]:
    limit = max(2 * current, 4)
    ceiling, reason = (limit, _UP_LIMIT) if high > limit else (high, _TOO_MANY)
    if desired < low:
        return low, _TOO_FEW
    if desired > ceiling:
        return ceiling, reason
    return desired, _WITHIN


def _within_rates(history: _History, current: int, desired: int, low: int, high: int,
                  up: Rules, down: Rules, now: float) -> tuple[int, tuple[str, str]]:
    if desired > current:
        limit = max(_rate_limit(history, current, up, now, +1), current)
        ceiling, reason = (limit, _UP_LIMIT) if high > limit else (high, _TOO_MANY)
        if desired > ceiling:
            return ceiling, reason
    elif desired < current:
        limit = min(_rate_limit(history, current, down, now, -1), current)
        floor, reason = (limit, _DOWN_LIMIT) if low < limit else (low, _TOO_FEW)
        if desired < floor:
            return floor, reason
    return desired, _WITHIN


def _rate_limit(history: _History, current: int, rules: Rules, now: float,
                direction: int) -> int:
    if rules.select == "Disabled" or not rules.policies:
        return current
    most_change = rules.select != "Min"
    pick: Callable[..., int] = max if (direction > 0) == most_change else min
    proposals = []
    for policy in rules.policies:
        added = sum(n for n, at in history.ups if at > now - policy.period)
        removed = sum(n for n, at in history.downs if at > now - policy.period)
        start = current - added + removed
        if policy.type == "Pods":
            proposals.append(start + direction * policy.value)
        elif direction > 0:
            proposals.append(math.ceil(start * (1 + policy.value / 100)))
        else:
            proposals.append(int(start * (1 - policy.value / 100)))
    return int(pick(proposals))
