"""``fieldValidation`` on writes: unknown fields are an error (Strict), a warning (Warn, the
default) or ignored (Ignore); wrong JSON types are always a 400, as decoding fails in Go.

Custom resources are checked against their version's ``openAPIV3Schema`` for unknown
fields; their type errors are left to schema validation (a 422, as kube-apiserver).
"""

from __future__ import annotations

from typing import Any

from steersman.api import errors, fieldcheck
from steersman.api.resources import ResourceInfo

_MODES = ("Strict", "Warn", "Ignore")


def _compiled(info: ResourceInfo) -> fieldcheck.CompiledSchema | None:
    if info.crd is not None:
        schema = info.crd.get("schema")
        return fieldcheck.compile_schema(schema) if isinstance(schema, dict) else None
    return fieldcheck.compiled_for_kind(info.group, info.version, info.kind)


def validate_fields(info: ResourceInfo, obj: dict[str, Any], mode: str) -> list[str]:
    """Warnings to send back; raises a 400 StatusError for Strict or type errors."""
    if mode not in _MODES:
        raise errors.bad_request(
            f'fieldValidation "{mode}" is not supported: use Strict, Warn or Ignore')
    schema = _compiled(info)
    if schema is None or fieldcheck.clean(obj, schema, types=info.crd is None):
        return []
    # A custom resource of the wrong type is a 422 from schema validation, not a 400.
    problems = [] if info.crd is not None else fieldcheck.type_errors(obj, schema)
    if problems:
        raise fieldcheck.decoding_error(info.kind, info.version, problems[0])
    if mode == "Ignore":
        return []
    unknown = fieldcheck.unknown_fields(obj, schema)
    if unknown and mode == "Strict":
        raise fieldcheck.strict_decoding_error(info.kind, info.version, unknown)
    return fieldcheck.unknown_field_warnings(unknown)
