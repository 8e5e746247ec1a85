"""The columns of kinds without a printer: ``rest.DefaultTableConvertor``.

Name and creation time, the latter as an RFC 3339 UTC timestamp (type ``date``): what
kube-apiserver serves for, e.g., LimitRange, Role, ClusterRole and
CustomResourceDefinition.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from steersman.api.printers.cells import dig, name_of, parse_time
from steersman.api.printers.columns import NAME, Printer, col, meta

_GO_ZERO_TIME = "0001-01-01T00:00:00Z"


def _default_cells(obj: Mapping[str, Any], now: float) -> list[Any]:
    return [name_of(obj), _created_at(dig(obj, "metadata", "creationTimestamp"))]


def _created_at(value: Any) -> str:
    moment = parse_time(value)
    if moment is None:
        return _GO_ZERO_TIME
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


DEFAULT = Printer(
    (NAME, col("Created At", meta("creationTimestamp"), type="date")), _default_cells,
)
