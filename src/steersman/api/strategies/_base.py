"""The base every kind's strategy builds on: object metadata, labels and label selectors.

:class:`KindStrategy` implements the :class:`~steersman.api.strategy.Strategy` protocol:
``validate`` checks ``metadata`` (name format per kind, labels, annotations) and then calls
``validate_spec``; subclasses override ``default``, ``validate_spec`` and ``validate_update``.
Paths and messages follow kubernetes/apimachinery ``pkg/api/validation/objectmeta.go`` and
``pkg/apis/meta/v1/validation``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steersman.api.errors import FieldError, invalid, not_supported, required, too_long
from steersman.api.strategies._fields import (
    TOTAL_ANNOTATION_SIZE,
    Check,
    check,
    go_value,
    invalid_shown,
    is_dns1123_subdomain,
    is_label_value,
    is_qualified_name,
    remembered_by_json,
)
from steersman.api.strategy import Object

SELECTOR_OPERATORS = ["In", "NotIn", "Exists", "DoesNotExist"]


class KindStrategy:
    """Defaulting and validation for one kind; the registry holds one instance per kind."""

    def check_name(self, name: str) -> list[str]:
        """Problems with ``metadata.name``; most kinds use DNS-1123 subdomains."""
        return is_dns1123_subdomain(name)

    def default(self, obj: Object) -> None:
        return None

    def prepare_update(self, new: Object, old: Object) -> None:
        """Adjust a spec update before defaulting (upstream ``PrepareForUpdate``)."""
        return None

    def validate(self, obj: Object) -> list[FieldError]:
        return validate_object_meta(obj, self.check_name) + self.validate_spec(obj)

    def validate_spec(self, obj: Object) -> list[FieldError]:
        return []

    def validate_update(self, new: Object, old: Object) -> list[FieldError]:
        return []


def mapping(parent: Any, key: str) -> dict[str, Any]:
    """``parent[key]`` when it is a dict, else an empty dict (reading only)."""
    if isinstance(parent, dict):
        value = parent.get(key)
        if isinstance(value, dict):
            return value
    return {}


def items(parent: Any, key: str) -> list[Any]:
    """``parent[key]`` when it is a list, else an empty list (reading only)."""
    if isinstance(parent, dict):
        value = parent.get(key)
        if isinstance(value, list):
            return value
    return []


def ensure(parent: dict[str, Any], key: str) -> dict[str, Any]:
    """``parent[key]`` as a dict, created empty when missing or null (for defaulting)."""
    value = parent.get(key)
    if not isinstance(value, dict):
        value = {}
        parent[key] = value
    return value


def validate_object_meta(obj: Object, name_check: Check) -> list[FieldError]:
    meta = mapping(obj, "metadata")
    errs: list[FieldError] = []
    name = meta.get("name")
    generate = meta.get("generateName")
    if generate:
        errs += check("metadata.generateName", generate,
                      lambda v: name_check(v[:-1] if v.endswith("-") else v))
    if not name:
        if not generate:
            errs.append(required("metadata.name", "name or generateName is required"))
    else:
        errs += check("metadata.name", name, name_check)
    errs += validate_labels(meta.get("labels"), "metadata.labels")
    errs += validate_annotations(meta.get("annotations"), "metadata.annotations")
    return errs


@remembered_by_json
def validate_labels(labels: Any, path: str) -> list[FieldError]:
    if labels is None:
        return []
    if not isinstance(labels, Mapping):
        return [invalid(path, go_value(labels), "must be a map of strings")]
    errs: list[FieldError] = []
    for key, value in labels.items():
        errs += check(path, key, is_qualified_name)
        errs += check(path, value, is_label_value)
    return errs


@remembered_by_json
def validate_annotations(annotations: Any, path: str) -> list[FieldError]:
    if annotations is None:
        return []
    if not isinstance(annotations, Mapping):
        return [invalid(path, go_value(annotations), "must be a map of strings")]
    errs: list[FieldError] = []
    total = 0
    for key, value in annotations.items():
        errs += [invalid(path, key, m) for m in is_qualified_name(str(key).lower())]
        total += len(str(key)) + len(str(value))
    if total > TOTAL_ANNOTATION_SIZE:
        errs.append(too_long(path, TOTAL_ANNOTATION_SIZE))
    return errs


def validate_label_selector(selector: Any, path: str) -> list[FieldError]:
    if selector is None:
        return []
    if not isinstance(selector, Mapping):
        return [invalid(path, go_value(selector), "must be a label selector")]
    errs = validate_labels(selector.get("matchLabels"), f"{path}.matchLabels")
    for i, expr in enumerate(items(selector, "matchExpressions")):
        errs += _validate_requirement(expr, f"{path}.matchExpressions[{i}]")
    return errs


def _validate_requirement(expr: Any, path: str) -> list[FieldError]:
    if not isinstance(expr, Mapping):
        return [invalid(path, go_value(expr), "must be a label selector requirement")]
    op = expr.get("operator")
    values = expr.get("values") or []
    errs = check(f"{path}.key", expr.get("key", ""), is_qualified_name)
    if op in ("In", "NotIn") and not values:
        errs.append(required(f"{path}.values",
                             "must be specified when `operator` is 'In' or 'NotIn'"))
    elif op in ("Exists", "DoesNotExist") and values:
        errs.append(FieldError(f"{path}.values", "FieldValueForbidden",
                               "Forbidden: may not be specified when `operator` is 'Exists' "
                               "or 'DoesNotExist'"))
    elif op not in SELECTOR_OPERATORS:
        errs.append(not_supported(f"{path}.operator", op, SELECTOR_OPERATORS))
    return errs


def selector_is_empty(selector: Any) -> bool:
    sel = selector if isinstance(selector, Mapping) else {}
    return not sel.get("matchLabels") and not sel.get("matchExpressions")


def selector_matches(selector: Any, labels: Mapping[str, Any]) -> bool:
    """Whether a ``metav1.LabelSelector`` selects ``labels`` (an empty selector selects all)."""
    sel = selector if isinstance(selector, Mapping) else {}
    for key, value in (sel.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    return all(_requirement_matches(e, labels) for e in (sel.get("matchExpressions") or [])
               if isinstance(e, Mapping))


def _requirement_matches(expr: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    key, op, values = str(expr.get("key")), expr.get("operator"), expr.get("values") or []
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    return False


def template_labels_mismatch(path: str, labels: Mapping[str, Any] | None) -> FieldError:
    shown = go_value(dict(labels)) if labels else "map[string]string(nil)"
    return invalid_shown(path, shown, "`selector` does not match template `labels`")
