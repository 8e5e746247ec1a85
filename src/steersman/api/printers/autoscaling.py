"""autoscaling/v2 rows: HorizontalPodAutoscaler, with ``formatHPAMetrics`` targets.

Each metric prints as ``current/target`` (``cpu: 30%/50%``, ``500m/1 (avg)``), with
``<unknown>`` until the autoscaler reports a current value; two metrics at most, then
`` + N more...``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steersman.api.printers.cells import (
    NONE,
    UNKNOWN,
    UNSET,
    age,
    dig,
    items,
    mapping,
    name_of,
    number,
    text,
)
from steersman.api.printers.columns import AGE, NAME, Printer, api, col

_MAX_METRICS = 2
_SOURCE_FIELDS = {
    "External": "external", "Pods": "pods", "Object": "object", "Resource": "resource",
    "ContainerResource": "containerResource",
}


def _horizontal_pod_autoscaler(obj: Mapping[str, Any], now: float) -> list[Any]:
    spec = mapping(obj, "spec")
    reference = f"{text(spec, 'scaleTargetRef', 'kind')}/{text(spec, 'scaleTargetRef', 'name')}"
    min_replicas = spec.get("minReplicas")
    return [
        name_of(obj), reference,
        _metrics(items(spec, "metrics"), items(obj, "status", "currentMetrics")),
        UNSET if min_replicas is None else str(min_replicas), number(spec, "maxReplicas"),
        number(obj, "status", "currentReplicas"), age(obj, now),
    ]


def _metrics(specs: list[Any], statuses: list[Any]) -> str:
    if not specs:
        return NONE
    shown = [
        _metric(spec, statuses[i] if i < len(statuses) else None)
        for i, spec in enumerate(specs[:_MAX_METRICS])
    ]
    joined = ", ".join(shown)
    if len(specs) > _MAX_METRICS:
        return f"{joined} + {len(specs) - _MAX_METRICS} more..."
    return joined


def _metric(spec: Any, status: Any) -> str:
    field = _SOURCE_FIELDS.get(text(spec, "type"))
    if field is None:
        return "<unknown type>"
    source = mapping(spec, field)
    current = dig(status, field)
    if field in ("resource", "containerResource"):
        return f"{text(source, 'name')}: {_resource(source, current)}"
    if field == "pods":
        return f"{_current(current, 'averageValue')}/{_quantity(source, 'averageValue')}"
    return _value_or_average(source, current)


def _value_or_average(source: Mapping[str, Any], current: Any) -> str:
    """External and Object metrics: an average value when targeted, else a plain value."""
    if dig(source, "target", "averageValue") is not None:
        shown = UNKNOWN
        if dig(current, "current", "averageValue") is not None:
            shown = _current(current, "averageValue")
        return f"{shown}/{_quantity(source, 'averageValue')} (avg)"
    return f"{_current(current, 'value')}/{_quantity(source, 'value')}"


def _resource(source: Mapping[str, Any], current: Any) -> str:
    if dig(source, "target", "averageValue") is not None:
        return f"{_current(current, 'averageValue')}/{_quantity(source, 'averageValue')}"
    utilization = dig(current, "current", "averageUtilization")
    shown = UNKNOWN if current is None or utilization is None else f"{utilization}%"
    target = dig(source, "target", "averageUtilization")
    return f"{shown}/{'<auto>' if target is None else f'{target}%'}"


def _current(status: Any, field: str) -> str:
    """A reported quantity; ``<unknown>`` before the autoscaler reports this metric."""
    if status is None:
        return UNKNOWN
    value = dig(status, "current", field)
    return "<nil>" if value is None else str(value)


def _quantity(source: Mapping[str, Any], field: str) -> str:
    value = dig(source, "target", field)
    return "<nil>" if value is None else str(value)


def _doc(field: str) -> Any:
    return api("autoscaling.v2.HorizontalPodAutoscalerSpec", field)


_COLUMNS = (
    NAME,
    col("Reference", _doc("scaleTargetRef")),
    col("Targets", _doc("metrics")),
    col("MinPods", _doc("minReplicas")),
    col("MaxPods", _doc("maxReplicas")),
    col("Replicas", api("autoscaling.v2.HorizontalPodAutoscalerStatus", "currentReplicas")),
    AGE,
)

PRINTERS = {"HorizontalPodAutoscaler": Printer(_COLUMNS, _horizontal_pod_autoscaler)}
