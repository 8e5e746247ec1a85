"""Helpers for strategy tests: run a kind's strategy the way the API server does."""

from __future__ import annotations

import copy
from typing import Any

from steersman.api.errors import invalid_object
from steersman.api.strategies import strategy_for


def defaulted(group: str, obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    strategy_for(group, out["kind"]).default(out)
    return out


def causes(group: str, obj: dict[str, Any]) -> list[str]:
    """``field: message`` for each error after defaulting, as kubectl prints them."""
    out = defaulted(group, obj)
    return [f"{e.field}: {e.message}" for e in strategy_for(group, out["kind"]).validate(out)]


def update_causes(group: str, new: dict[str, Any], old: dict[str, Any]) -> list[str]:
    strategy = strategy_for(group, new["kind"])
    new, old = defaulted(group, new), defaulted(group, old)
    return [f"{e.field}: {e.message}" for e in strategy.validate_update(new, old)]


def message(group: str, obj: dict[str, Any]) -> str:
    out = defaulted(group, obj)
    errs = strategy_for(group, out["kind"]).validate(out)
    return invalid_object(out["kind"], out["metadata"].get("name", ""), errs).message
