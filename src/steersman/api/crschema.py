"""Structural schemas at work on custom resources: pruning, defaulting and validation.

A CRD version's ``openAPIV3Schema`` decides what a custom resource may hold. As
apiextensions-apiserver does on every write and on every read from storage:

* :func:`prune_nulls` drops ``null`` fields that are neither ``nullable`` nor defaulted;
* :func:`apply_defaults` fills absent fields (and non-nullable nulls) from ``default:``;
* :func:`prune` silently drops fields the schema does not declare, except below
  ``x-kubernetes-preserve-unknown-fields: true``; the root and every
  ``x-kubernetes-embedded-resource`` keep ``apiVersion``, ``kind`` and ``metadata``;
* :func:`validate` checks the value with go-openapi's rules and kube-apiserver's messages
  (``spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer:
  "string"``, ``spec.size: Required value``, ``Unsupported value: "x": supported values:
  "a", "b"``).

Schemas are plain dicts as stored in the CRD; the functions interpret them directly (custom
resources are rare on the hot path) and never mutate them. Defaults are deep-copied in.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from steersman.api.errors import FieldError, not_supported, required

Schema = Mapping[str, Any]
_TYPE_META = ("apiVersion", "kind", "metadata")
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_JSON_NAMES: dict[type, str] = {
    dict: "object", list: "array", str: "string", int: "integer", float: "number",
    bool: "boolean", type(None): "null",
}


# --- pruning and defaulting ---------------------------------------------------------------


def prune(obj: dict[str, Any], schema: Schema) -> None:
    """Drop, in place, every field ``schema`` does not declare (``obj`` is the whole object)."""
    _prune_object(obj, schema, root=True)


def _prune_value(value: Any, schema: Schema) -> None:
    if isinstance(value, dict):
        _prune_object(value, schema, root=bool(schema.get("x-kubernetes-embedded-resource")))
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for item in value:
            _prune_value(item, schema["items"])


def _prune_object(obj: dict[str, Any], schema: Schema, *, root: bool) -> None:
    properties: Mapping[str, Any] = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    keep_all = bool(schema.get("x-kubernetes-preserve-unknown-fields")) or extra is True
    for key in list(obj):
        sub = properties.get(key)
        if sub is None and isinstance(extra, Mapping):
            sub = extra
        if sub is not None:
            _prune_value(obj[key], sub)
        elif not keep_all and not (root and key in _TYPE_META):
            del obj[key]


def prune_nulls(obj: Any, schema: Schema) -> None:
    """Drop ``null`` object fields whose schema is neither nullable nor has a default."""
    if isinstance(obj, dict):
        for key in list(obj):
            sub = _field_schema(schema, key)
            if sub is None:
                continue
            if obj[key] is None and not sub.get("nullable") and "default" not in sub:
                del obj[key]
            else:
                prune_nulls(obj[key], sub)
    elif isinstance(obj, list) and isinstance(schema.get("items"), Mapping):
        for item in obj:
            prune_nulls(item, schema["items"])


def apply_defaults(obj: Any, schema: Schema) -> None:
    """Fill absent fields, and ``null`` ones that may not be null, from ``default:``."""
    if isinstance(obj, dict):
        for key, sub in (schema.get("properties") or {}).items():
            missing = key not in obj or (obj[key] is None and not sub.get("nullable"))
            if missing and "default" in sub:
                obj[key] = copy.deepcopy(sub["default"])
        for key, value in obj.items():
            sub = _field_schema(schema, key)
            if sub is not None:
                apply_defaults(value, sub)
    elif isinstance(obj, list) and isinstance(schema.get("items"), Mapping):
        for item in obj:
            apply_defaults(item, schema["items"])


def _field_schema(schema: Schema, key: str) -> Schema | None:
    sub = (schema.get("properties") or {}).get(key)
    if sub is None and isinstance(schema.get("additionalProperties"), Mapping):
        sub = schema["additionalProperties"]
    return sub if isinstance(sub, Mapping) else None


# --- validation ---------------------------------------------------------------------------


def validate(obj: Any, schema: Schema) -> list[FieldError]:
    """Every schema violation of ``obj`` (a whole custom resource), in document order."""
    errs: list[FieldError] = []
    _validate(obj, schema, "", errs)
    return errs


def _validate(value: Any, schema: Schema, path: str, errs: list[FieldError]) -> None:
    if value is None and schema.get("nullable"):
        return
    type_error = _type_error(value, schema, path)
    if type_error is not None:
        errs.append(type_error)
        return
    if "enum" in schema and not _in_enum(value, schema["enum"]):
        errs.append(not_supported(path, value, [_enum_text(v) for v in schema["enum"]]))
    for check in _CHECKS:
        errs.extend(check(value, schema, path))
    if isinstance(value, dict):
        _validate_object(value, schema, path, errs)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(value):
            _validate(item, schema["items"], f"{path}[{index}]", errs)
    for sub in schema.get("allOf") or ():
        _validate(value, sub, path, errs)


def _validate_object(value: dict[str, Any], schema: Schema, path: str,
                     errs: list[FieldError]) -> None:
    for key in schema.get("required") or ():
        if key not in value:
            errs.append(required(_join(path, key)))
    for key, sub_value in value.items():
        sub = _field_schema(schema, key)
        if sub is not None and not (path == "" and key == "metadata"):
            _validate(sub_value, sub, _join(path, key), errs)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _declared_types(schema: Schema) -> list[str]:
    if schema.get("x-kubernetes-int-or-string"):
        return ["integer", "string"]
    declared = schema.get("type")
    if isinstance(declared, str) and declared:
        return [declared]
    branches = [b.get("type") for b in schema.get("anyOf") or () if isinstance(b, Mapping)]
    return [b for b in branches if isinstance(b, str)]


def _has_type(value: Any, kind: str) -> bool:
    if kind == "integer":
        return (type(value) is int) or (type(value) is float and value.is_integer())
    if kind == "number":
        return type(value) in (int, float)
    return _JSON_NAMES.get(type(value)) == kind


def _type_error(value: Any, schema: Schema, path: str) -> FieldError | None:
    kinds = _declared_types(schema)
    if not kinds or any(_has_type(value, kind) for kind in kinds):
        return None
    actual = _JSON_NAMES.get(type(value), "object")
    detail = f'{path} in body must be of type {",".join(kinds)}: "{actual}"'
    return FieldError(path, "FieldValueTypeInvalid", f'Invalid value: "{actual}": {detail}')


def _in_enum(value: Any, allowed: Any) -> bool:
    return isinstance(allowed, list) and any(_json_equal(value, a) for a in allowed)


def _json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


def _enum_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _invalid(path: str, value: Any, detail: str) -> FieldError:
    return FieldError(path, "FieldValueInvalid", f"Invalid value: {_go_value(value)}: {detail}")


def _go_value(value: Any) -> str:
    """A value as ``field.Invalid`` prints it (``%#v``-like for scalars)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_number(value)
    return str(value)


def _go_number(value: float | int) -> str:
    """Go's ``%v`` of a float64: integral values without a decimal point."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return repr(value)


def _check_string(value: Any, schema: Schema, path: str) -> list[FieldError]:
    if not isinstance(value, str):
        return []
    errs: list[FieldError] = []
    length = len(value)
    if "maxLength" in schema and length > int(schema["maxLength"]):
        limit = int(schema["maxLength"])
        unit = "byte" if limit == 1 else "bytes"
        errs.append(FieldError(path, "FieldValueTooLong",
                               f"Too long: may not be more than {limit} {unit}"))
    if "minLength" in schema and length < int(schema["minLength"]):
        errs.append(_invalid(path, value, f"{path} in body should be at least "
                                          f"{int(schema['minLength'])} chars long"))
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and _compiled(pattern).search(value) is None:
        errs.append(_invalid(path, value, f"{path} in body should match '{pattern}'"))
    return errs


@functools.lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _check_number(value: Any, schema: Schema, path: str) -> list[FieldError]:
    if type(value) not in (int, float):
        return []
    errs = _check_format_range(value, schema, path)
    errs += _check_bounds(value, schema, path)
    factor = schema.get("multipleOf")
    if isinstance(factor, int | float) and factor and not _is_multiple(value, factor):
        errs.append(_invalid(path, value, f"{path} in body should be a multiple of "
                                          f"{_go_number(factor)}"))
    return errs


def _check_format_range(value: int | float, schema: Schema, path: str) -> list[FieldError]:
    bounds = _INT_RANGES.get(str(schema.get("format", "")))
    if "integer" not in _declared_types(schema) or bounds is None:
        return []
    if bounds[0] <= value <= bounds[1]:
        return []
    message = (f"Checked value must be of type integer with format {schema['format']} "
               f"in {path}")
    return [FieldError("", "FieldValueInvalid", f'Invalid value: "": {message}')]


def _check_bounds(value: int | float, schema: Schema, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    low, high = schema.get("minimum"), schema.get("maximum")
    if isinstance(low, int | float):
        exclusive = bool(schema.get("exclusiveMinimum"))
        if value < low or (exclusive and value == low):
            word = "greater than" if exclusive else "greater than or equal to"
            errs.append(_invalid(path, value, f"{path} in body should be {word} "
                                              f"{_go_number(low)}"))
    if isinstance(high, int | float):
        exclusive = bool(schema.get("exclusiveMaximum"))
        if value > high or (exclusive and value == high):
            word = "less than" if exclusive else "less than or equal to"
            errs.append(_invalid(path, value, f"{path} in body should be {word} "
                                              f"{_go_number(high)}"))
    return errs


def _is_multiple(value: int | float, factor: int | float) -> bool:
    if isinstance(value, int) and isinstance(factor, int):
        return value % factor == 0
    quotient = value / factor
    return math.isclose(quotient, round(quotient), rel_tol=0, abs_tol=1e-9)


def _check_array(value: Any, schema: Schema, path: str) -> list[FieldError]:
    if not isinstance(value, list):
        return []
    errs: list[FieldError] = []
    count = len(value)
    if "maxItems" in schema and count > int(schema["maxItems"]):
        errs.append(FieldError(path, "FieldValueTooMany",
                               f"Too many: {count}: must have at most "
                               f"{int(schema['maxItems'])} items"))
    if "minItems" in schema and count < int(schema["minItems"]):
        errs.append(_invalid(path, count, f"{path} in body should have at least "
                                          f"{int(schema['minItems'])} items"))
    return errs


def _check_properties(value: Any, schema: Schema, path: str) -> list[FieldError]:
    if not isinstance(value, dict):
        return []
    errs: list[FieldError] = []
    count = len(value)
    if "maxProperties" in schema and count > int(schema["maxProperties"]):
        errs.append(FieldError(path, "FieldValueTooMany",
                               f"Too many: {count}: must have at most "
                               f"{int(schema['maxProperties'])} items"))
    if "minProperties" in schema and count < int(schema["minProperties"]):
        errs.append(_invalid(path, count, f"{path} in body should have at least "
                                          f"{int(schema['minProperties'])} properties"))
    return errs


def _check_embedded(value: Any, schema: Schema, path: str) -> list[FieldError]:
    """An embedded resource must say what it is: ``apiVersion`` and ``kind``."""
    if not schema.get("x-kubernetes-embedded-resource") or not isinstance(value, dict):
        return []
    return [required(_join(path, key), "must not be empty") for key in ("apiVersion", "kind")
            if not value.get(key)]


_CHECKS: tuple[Callable[[Any, Schema, str], list[FieldError]], ...] = (
    _check_string, _check_number, _check_array, _check_properties, _check_embedded,
)
