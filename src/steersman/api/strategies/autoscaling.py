"""HorizontalPodAutoscaler (autoscaling/v2): kube-apiserver's defaults and validation.

Defaults (``SetDefaults_HorizontalPodAutoscaler``): ``minReplicas`` 1; no metrics means cpu
at 80 % utilization; a ``behavior`` that is set gets its unset rules filled (scale-up:
window 0, ``Max`` of "4 pods" and "100 %" per 15 s; scale-down: ``Max`` of "100 %" per
15 s, the window left to the controller's 300 s).

Validation (``ValidateHorizontalPodAutoscaler``), with upstream's paths and messages:
replica bounds, the scale target reference, each metric (one source, of its type, with a
valid target) and the scaling rules (policies, periods up to 1800 s, windows up to 3600 s).
"""

from __future__ import annotations

from typing import Any

from steersman.api.errors import FieldError, forbidden, invalid, not_supported, required
from steersman.api.quantity import QuantityError, parse_quantity
from steersman.api.strategies._base import KindStrategy, ensure, items, mapping
from steersman.api.strategies._fields import is_path_segment_name
from steersman.api.strategy import Object

SOURCES = {"Object": "object", "Pods": "pods", "Resource": "resource",
           "ContainerResource": "containerResource", "External": "external"}
TARGET_TYPES = ("Utilization", "Value", "AverageValue")
MAX_PERIOD_SECONDS, MAX_WINDOW_SECONDS = 1800, 3600
_SCALE_UP = {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
    {"type": "Pods", "value": 4, "periodSeconds": 15},
    {"type": "Percent", "value": 100, "periodSeconds": 15}]}
_SCALE_DOWN = {"selectPolicy": "Max", "policies": [
    {"type": "Percent", "value": 100, "periodSeconds": 15}]}


class HorizontalPodAutoscalerStrategy(KindStrategy):
    def default(self, obj: Object) -> None:
        spec = ensure(obj, "spec")
        if spec.get("minReplicas") is None:
            spec["minReplicas"] = 1
        if not spec.get("metrics"):
            spec["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": {
                "type": "Utilization", "averageUtilization": 80}}}]
        behavior = spec.get("behavior")
        if isinstance(behavior, dict):
            for key, defaults in (("scaleUp", _SCALE_UP), ("scaleDown", _SCALE_DOWN)):
                rules = ensure(behavior, key)
                for field, value in defaults.items():
                    if rules.get(field) is None:
                        rules[field] = [dict(p) for p in value] if isinstance(value, list) \
                            else value

    def validate_spec(self, obj: Object) -> list[FieldError]:
        spec = mapping(obj, "spec")
        low, high = spec.get("minReplicas"), spec.get("maxReplicas")
        errs: list[FieldError] = []
        if isinstance(low, int) and low < 1:
            errs.append(invalid("spec.minReplicas", low, "must be greater than or equal to 1"))
        if not isinstance(high, int) or high < 1:
            errs.append(invalid("spec.maxReplicas", high or 0, "must be greater than 0"))
        elif isinstance(low, int) and high < low:
            errs.append(invalid("spec.maxReplicas", high,
                                "must be greater than or equal to `minReplicas`"))
        reference = _reference(mapping(spec, "scaleTargetRef"), "spec.scaleTargetRef")
        if reference:
            return errs + reference
        metrics = [e for i, m in enumerate(items(spec, "metrics"))
                   for e in _metric(m if isinstance(m, dict) else {}, f"spec.metrics[{i}]")]
        return errs + (metrics or _behavior(spec.get("behavior"), "spec.behavior"))


def _reference(ref: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for key in ("kind", "name"):
        value = ref.get(key)
        if not value:
            errs.append(required(f"{path}.{key}"))
        else:
            errs += [invalid(f"{path}.{key}", value, m) for m in is_path_segment_name(str(value))]
    return errs


def _metric(metric: dict[str, Any], path: str) -> list[FieldError]:
    kind = metric.get("type")
    if not kind:
        return [required(f"{path}.type", "must specify a metric source type")]
    if kind not in SOURCES:
        return [not_supported(f"{path}.type", kind, sorted(SOURCES))]
    present = [field for field in SOURCES.values() if metric.get(field) is not None]
    expected = SOURCES[str(kind)]
    errs = [forbidden(f"{path}.{field}", "must populate the given metric source only")
            for field in present if field != expected]
    source = metric.get(expected)
    if not isinstance(source, dict):
        return [*errs, required(f"{path}.{expected}",
                                "must populate information for the given metric source")]
    return errs + _source(kind, source, f"{path}.{expected}")


def _source(kind: str, source: dict[str, Any], path: str) -> list[FieldError]:
    target = mapping(source, "target")
    errs = _target(target, f"{path}.target")
    if kind in ("Resource", "ContainerResource"):
        if not source.get("name"):
            errs.append(required(f"{path}.name", "must specify a resource name"))
        if kind == "ContainerResource" and not source.get("container"):
            errs.append(required(f"{path}.container", "must specify a container"))
        if target.get("averageUtilization") is None and target.get("averageValue") is None:
            errs.append(required(f"{path}.target.averageUtilization",
                                 "must set either a target raw value or a target utilization"))
        elif target.get("averageUtilization") is not None and \
                target.get("averageValue") is not None:
            errs.append(forbidden(f"{path}.target.averageValue",
                                  "may not set both a target raw value and a target utilization"))
    elif not mapping(source, "metric").get("name"):
        errs.append(required(f"{path}.metric.name", "must specify a metric name"))
    return errs


def _target(target: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    kind = target.get("type")
    if not kind:
        errs.append(required(f"{path}.type", "must specify a metric target type"))
    if kind not in TARGET_TYPES:
        errs.append(invalid(f"{path}.type", kind or "",
                            "must be either Utilization, Value, or AverageValue"))
    for key in ("value", "averageValue"):
        if target.get(key) is not None and not _positive_quantity(target[key]):
            errs.append(invalid(f"{path}.{key}", target[key], "must be positive"))
    utilization = target.get("averageUtilization")
    if utilization is not None and (not isinstance(utilization, int) or utilization < 1):
        errs.append(invalid(f"{path}.averageUtilization", utilization, "must be greater than 0"))
    return errs


def _positive_quantity(value: Any) -> bool:
    try:
        return parse_quantity(value) > 0
    except (QuantityError, TypeError, ValueError):
        return False


def _behavior(behavior: Any, path: str) -> list[FieldError]:
    if not isinstance(behavior, dict):
        return []
    return [e for key in ("scaleUp", "scaleDown")
            for e in _rules(mapping(behavior, key), f"{path}.{key}")]


def _rules(rules: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    window = rules.get("stabilizationWindowSeconds")
    if isinstance(window, int) and window < 0:
        errs.append(invalid(f"{path}.stabilizationWindowSeconds", window,
                            "must be greater than or equal to zero"))
    elif isinstance(window, int) and window > MAX_WINDOW_SECONDS:
        errs.append(invalid(f"{path}.stabilizationWindowSeconds", window,
                            f"must be less than or equal to {MAX_WINDOW_SECONDS}"))
    select = rules.get("selectPolicy")
    if select is not None and select not in ("Disabled", "Max", "Min"):
        errs.append(not_supported(f"{path}.selectPolicy", select, ["Disabled", "Max", "Min"]))
    policies = items(rules, "policies")
    if not policies:
        errs.append(required(f"{path}.policies", "must specify at least one Policy"))
    for i, policy in enumerate(policies):
        errs += _policy(policy if isinstance(policy, dict) else {}, f"{path}.policies[{i}]")
    return errs


def _policy(policy: dict[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if policy.get("type") not in ("Percent", "Pods"):
        errs.append(not_supported(f"{path}.type", policy.get("type") or "", ["Percent", "Pods"]))
    value, period = policy.get("value"), policy.get("periodSeconds")
    if not isinstance(value, int) or value <= 0:
        errs.append(invalid(f"{path}.value", value or 0, "must be greater than zero"))
    if not isinstance(period, int) or period <= 0:
        errs.append(invalid(f"{path}.periodSeconds", period or 0, "must be greater than zero"))
    elif period > MAX_PERIOD_SECONDS:
        errs.append(invalid(f"{path}.periodSeconds", period,
                            f"must be less than or equal to {MAX_PERIOD_SECONDS}"))
    return errs
