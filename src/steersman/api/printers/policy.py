"""policy/v1 rows: PodDisruptionBudget."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steersman.api.printers.cells import age, dig, name_of, number
from steersman.api.printers.columns import AGE, NAME, Printer, col


def _pod_disruption_budget(obj: Mapping[str, Any], now: float) -> list[Any]:
    return [
        name_of(obj), _int_or_string(dig(obj, "spec", "minAvailable")),
        _int_or_string(dig(obj, "spec", "maxUnavailable")),
        number(obj, "status", "disruptionsAllowed"), age(obj, now),
    ]


def _int_or_string(value: Any) -> str:
    return "N/A" if value is None else str(value)


_COLUMNS = (
    NAME,
    col("Min Available", "The minimum number of pods that must be available."),
    col("Max Unavailable", "The maximum number of pods that may be unavailable."),
    col("Allowed Disruptions", "Calculated number of pods that may be disrupted at this time.",
        type="integer"),
    AGE,
)

PRINTERS = {"PodDisruptionBudget": Printer(_COLUMNS, _pod_disruption_budget)}
