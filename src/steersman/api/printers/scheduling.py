"""scheduling.k8s.io/v1 rows: PriorityClass."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steersman.api.printers.cells import age, name_of, number, text
from steersman.api.printers.columns import AGE, NAME, Printer, api, col


def _priority_class(obj: Mapping[str, Any], now: float) -> list[Any]:
    return [
        name_of(obj), number(obj, "value"), obj.get("globalDefault") is True, age(obj, now),
        text(obj, "preemptionPolicy"),
    ]


_COLUMNS = (
    NAME,
    col("Value", api("scheduling.v1.PriorityClass", "value"), type="integer"),
    col("Global-Default", api("scheduling.v1.PriorityClass", "globalDefault"), type="boolean"),
    AGE,
    col("PreemptionPolicy", api("scheduling.v1.PriorityClass", "preemptionPolicy")),
)

PRINTERS = {"PriorityClass": Printer(_COLUMNS, _priority_class)}
