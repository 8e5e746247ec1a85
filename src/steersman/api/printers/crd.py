"""Table output of custom resources, from a CRD version's ``additionalPrinterColumns``.

As apiextensions-apiserver's table convertor: a ``Name`` column first, then the CRD's
columns as declared, or a single ``Age`` column (``.metadata.creationTimestamp``) when the
version declares none. A cell is the first value its JSONPath selects, None (``null``)
when it selects nothing or a value of the wrong type; ``string`` columns print any value
as kubectl's JSONPath printer does, ``date`` columns print the age of the timestamp.
"""

from __future__ import annotations

import decimal
import functools
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from steersman.api.printers.cells import UNKNOWN, human_duration, name_of, parse_time
from steersman.api.printers.columns import AGE, NAME, Column, resolve
from steersman.api.printers.jsonpath import JSONPath, compile_path

PrinterColumn = Mapping[str, Any]


def crd_columns(printer_columns: Sequence[PrinterColumn]) -> list[Column]:
    """The Table columns of a custom resource version; invalid JSONPaths raise."""
    columns = [resolve(NAME)]
    for column in _served(printer_columns):
        _compiled(str(column.get("jsonPath", "")))
        columns.append(Column(
            name=str(column.get("name", "")), type=str(column.get("type", "")),
            format=str(column.get("format", "")),
            description=str(column.get("description", "")),
            priority=int(column.get("priority", 0)),
        ))
    return columns


def crd_row_cells(
    printer_columns: Sequence[PrinterColumn], obj: Mapping[str, Any], now: float,
) -> list[Any]:
    """The cells of ``obj``'s row, matching :func:`crd_columns` of the same columns."""
    cells: list[Any] = [name_of(obj)]
    for column in _served(printer_columns):
        found = _compiled(str(column.get("jsonPath", ""))).find(obj)
        cells.append(_cell(str(column.get("type", "")), found[0] if found else None, now))
    return cells


def _served(printer_columns: Sequence[PrinterColumn]) -> Sequence[PrinterColumn]:
    if printer_columns:
        return printer_columns
    age = resolve(AGE)
    return [{"name": age.name, "type": "date", "description": age.description,
             "jsonPath": ".metadata.creationTimestamp"}]


@functools.lru_cache(maxsize=1024)
def _compiled(expression: str) -> JSONPath:
    return compile_path(expression)


def _cell(column_type: str, value: Any, now: float) -> Any:
    if value is None:
        return None
    if column_type == "string":
        return _printed(value)
    if column_type == "date":
        return _date(value, now)
    if isinstance(value, bool):
        return value if column_type == "boolean" else None
    if isinstance(value, int | float) and column_type in ("integer", "number"):
        return int(value) if column_type == "integer" else float(value)
    return None


def _date(value: Any, now: float) -> str | None:
    if not isinstance(value, str):
        return None
    if value in ("", "null"):
        return UNKNOWN
    moment = parse_time(value)
    return "<invalid>" if moment is None else human_duration(now - moment)


def _printed(value: Any) -> str:
    """A value as the JSONPath printer writes it: JSON for objects and lists."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, Mapping | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def _go_float(value: float) -> str:
    """Go's ``%v`` of a float64: shortest digits, exponent form below 1e-4 or from 1e6."""
    if math.isnan(value) or math.isinf(value):
        return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
    number = decimal.Decimal(repr(value)).normalize()
    sign, digits, exponent = number.as_tuple()
    power = len(digits) + int(exponent) - 1
    if -4 <= power < 6:
        return f"{number:f}"
    mantissa = str(digits[0]) + ("." + "".join(map(str, digits[1:])) if digits[1:] else "")
    return f"{'-' if sign else ''}{mantissa}e{'-' if power < 0 else '+'}{abs(power):02d}"
