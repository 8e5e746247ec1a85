"""Structural checks of a CRD version's ``openAPIV3Schema`` (a reasonable subset).

As apiextensions-apiserver's ``pkg/apiserver/schema/validation.go`` and the OpenAPI checks
of ``pkg/apis/apiextensions/validation``: every node says its ``type`` (unless it is
``x-kubernetes-int-or-string`` or ``x-kubernetes-preserve-unknown-fields``), the root is an
object and not nullable, arrays have ``items``, ``properties`` and ``additionalProperties``
exclude each other, ``metadata`` at the root may only constrain ``name`` and
``generateName``, patterns compile, unsupported keywords are refused, and every
``default`` is itself valid against its schema. Paths look like kube's:
``spec.versions[0].schema.openAPIV3Schema.properties[spec].type``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from steersman.api import crschema
from steersman.api.errors import FieldError, forbidden, invalid, not_supported, required

Schema = Mapping[str, Any]
TYPES = ["array", "boolean", "integer", "number", "object", "string"]
_UNSUPPORTED = {"id": "id is not supported", "additionalItems": "additionalItems is not supported",
                "patternProperties": "patternProperties is not supported",
                "definitions": "definitions is not supported", "$ref": "$ref is not supported",
                "dependencies": "dependencies is not supported"}
_EMPTY_TYPE = {"root": "must not be empty at the root",
               "items": "must not be empty for specified array items",
               "field": "must not be empty for specified object fields"}


def validate_schema(schema: Schema, path: str) -> list[FieldError]:
    """Problems with ``schema`` as the root of a custom resource's structural schema."""
    errs: list[FieldError] = []
    if schema.get("nullable"):
        errs.append(forbidden(f"{path}.nullable", "nullable cannot be true at the root"))
    if "additionalProperties" in schema:
        errs.append(forbidden(f"{path}.additionalProperties", "must not be used at the root"))
    declared = schema.get("type")
    if declared and declared != "object":
        errs.append(invalid(f"{path}.type", declared, "must be object at the root"))
    metadata = (schema.get("properties") or {}).get("metadata")
    if isinstance(metadata, Mapping):
        errs += _check_metadata(metadata, f"{path}.properties[metadata]")
    _walk(schema, path, "root", errs)
    return errs


def _check_metadata(schema: Schema, path: str) -> list[FieldError]:
    extra = {k for k in schema if k not in ("type", "properties", "description")}
    names = set(schema.get("properties") or {})
    if extra or not names <= {"name", "generateName"}:
        return [forbidden(path, "must not specify anything other than name and generateName, "
                                "but metadata is implicitly specified")]
    return []


def _walk(schema: Schema, path: str, level: str, errs: list[FieldError]) -> None:
    errs.extend(_node_errors(schema, path, level))
    properties = schema.get("properties")
    if isinstance(properties, Mapping):
        for key, sub in properties.items():
            if isinstance(sub, Mapping):
                _walk(sub, f"{path}.properties[{key}]", "field", errs)
    extra = schema.get("additionalProperties")
    if isinstance(extra, Mapping):
        _walk(extra, f"{path}.additionalProperties", "field", errs)
    items = schema.get("items")
    if isinstance(items, Mapping):
        _walk(items, f"{path}.items", "items", errs)
    for key in ("allOf", "anyOf", "oneOf"):
        for index, sub in enumerate(schema.get(key) or ()):
            if isinstance(sub, Mapping):
                errs.extend(_keyword_errors(sub, f"{path}.{key}[{index}]"))


def _node_errors(schema: Schema, path: str, level: str) -> list[FieldError]:
    errs = _keyword_errors(schema, path)
    errs += _type_errors(schema, path, level)
    if "properties" in schema and isinstance(schema.get("additionalProperties"), Mapping):
        errs.append(forbidden(f"{path}.additionalProperties",
                              "additionalProperties and properties are mutual exclusive"))
    if schema.get("type") == "array" and not isinstance(schema.get("items"), Mapping):
        errs.append(required(f"{path}.items", "must be specified"))
    if "default" in schema and level != "root":
        errs += _default_errors(schema, path)
    return errs


def _keyword_errors(schema: Schema, path: str) -> list[FieldError]:
    errs = [forbidden(f"{path}.{key}", message) for key, message in _UNSUPPORTED.items()
            if key in schema]
    if schema.get("uniqueItems"):
        errs.append(forbidden(f"{path}.uniqueItems", "uniqueItems cannot be set to true since "
                                                     "the runtime complexity becomes quadratic"))
    declared = schema.get("type")
    if declared and declared not in TYPES:
        errs.append(not_supported(f"{path}.type", declared, TYPES))
    if schema.get("x-kubernetes-preserve-unknown-fields") is False:
        errs.append(invalid(f"{path}.x-kubernetes-preserve-unknown-fields", False,
                            "must be true or undefined"))
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        try:
            re.compile(pattern)
        except re.error as exc:
            errs.append(invalid(f"{path}.pattern", pattern,
                                f"must be a valid regular expression, but isn't: {exc}"))
    return errs


def _type_errors(schema: Schema, path: str, level: str) -> list[FieldError]:
    declared = schema.get("type")
    if schema.get("x-kubernetes-embedded-resource") and declared != "object":
        detail = "must be object if x-kubernetes-embedded-resource is true"
        return [required(f"{path}.type", detail) if not declared
                else invalid(f"{path}.type", declared, detail)]
    open_ = schema.get("x-kubernetes-int-or-string") or schema.get(
        "x-kubernetes-preserve-unknown-fields")
    if not declared and not open_:
        return [required(f"{path}.type", _EMPTY_TYPE[level])]
    return []


def _default_errors(schema: Schema, path: str) -> list[FieldError]:
    """A default must pass its own schema; messages name the default's place."""
    default = schema["default"]
    if default is None and not schema.get("nullable"):
        return [invalid(f"{path}.default", None, "must not be null for a non-nullable field")]
    where = f"{path}.default"
    return [FieldError(f"{where}.{e.field}" if e.field else where, e.reason, e.message)
            for e in crschema.validate(default, schema)]
