"""Tolerations (pods) and taints (nodes): keys, operators, values and effects.

Messages follow kubernetes/kubernetes ``pkg/apis/core/validation/validation.go``
(``validateTolerations``, ``validateNodeTaints``).
"""

from __future__ import annotations

from typing import Any

from steersman.api.errors import FieldError, invalid, not_supported, required
from steersman.api.strategies._fields import check, go_value, is_label_value, is_qualified_name

TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"]
TOLERATION_OPERATORS = ["Equal", "Exists"]


def validate_tolerations(tolerations: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, toleration in enumerate(tolerations):
        at = f"{path}[{i}]"
        tol = toleration if isinstance(toleration, dict) else {}
        errs += _toleration_key(tol, at)
        errs += _toleration_value(tol, at)
        effect = tol.get("effect")
        if tol.get("tolerationSeconds") is not None and effect != "NoExecute":
            errs.append(invalid(f"{at}.effect", effect or "",
                                "effect must be 'NoExecute' when `tolerationSeconds` is set"))
        if effect and effect not in TAINT_EFFECTS:
            errs.append(not_supported(f"{at}.effect", effect, TAINT_EFFECTS))
    return errs


def _toleration_key(tol: dict[str, Any], path: str) -> list[FieldError]:
    key = tol.get("key")
    if key:
        return check(f"{path}.key", key, is_qualified_name)
    if tol.get("operator") != "Exists":
        return [invalid(f"{path}.operator", tol.get("operator", ""),
                        "operator must be Exists when `key` is empty, which means "
                        '"match all values and all keys"')]
    return []


def _toleration_value(tol: dict[str, Any], path: str) -> list[FieldError]:
    operator, value = tol.get("operator") or "", tol.get("value") or ""
    if operator in ("Equal", ""):
        return check(f"{path}.value", value, is_label_value)
    if operator == "Exists":
        if value:
            return [invalid(f"{path}.value", value,
                            "value must be empty when `operator` is 'Exists'")]
        return []
    return [not_supported(f"{path}.operator", operator, TOLERATION_OPERATORS)]


def validate_taints(taints: list[Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[tuple[str, str]] = set()
    for i, taint in enumerate(taints):
        at = f"{path}[{i}]"
        taint = taint if isinstance(taint, dict) else {}
        key, effect = taint.get("key") or "", taint.get("effect") or ""
        errs += check(f"{at}.key", key, is_qualified_name)
        if taint.get("value"):
            errs += check(f"{at}.value", taint["value"], is_label_value)
        if not effect:
            errs.append(required(f"{at}.effect"))
        elif effect not in TAINT_EFFECTS:
            errs.append(not_supported(f"{at}.effect", effect, TAINT_EFFECTS))
        if (key, effect) in seen:
            errs.append(_duplicate_taint(at, taint))
        seen.add((key, effect))
    return errs


def _duplicate_taint(path: str, taint: dict[str, Any]) -> FieldError:
    shown = (f"core.Taint{{Key:{go_value(taint.get('key', ''))}, "
             f"Value:{go_value(taint.get('value', ''))}, "
             f"Effect:{go_value(taint.get('effect', ''))}, TimeAdded:<nil>}}")
    return FieldError(path, "FieldValueDuplicate",
                      f"Duplicate value: {shown}: taints must be unique by key and effect pair")
