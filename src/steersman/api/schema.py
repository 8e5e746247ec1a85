"""The Kubernetes API definitions, from the ``kubernetes-validate`` package (one source of truth).

``kubernetes-validate`` ships kube-apiserver's definitions as JSON Schema
(``kubernetes-json-schema/v1.32.0-local/_definitions.json``: 638 definitions keyed like
``io.k8s.api.core.v1.Pod`` with descriptions, ``x-kubernetes-group-version-kind``,
``x-kubernetes-patch-merge-key``/``-patch-strategy`` and ``x-kubernetes-list-*``). This module
loads that file once, lazily, and answers lookups: the definition of a kind, a ``$ref``
resolved, the schema of a property. OpenAPI documents, strict field checks and strategic
merge patch derive from it.

Schema values use JSON Schema draft forms: ``"type"`` may be a list such as
``["string", "null"]``; references are ``{"$ref": "#/$defs/<name>"}``.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
from typing import Any

KUBERNETES_SCHEMA_VERSION = "v1.32.0"
_REF_PREFIX = "#/$defs/"

Schema = dict[str, Any]


@functools.cache
def definitions() -> dict[str, Schema]:
    """Every definition by name; read once (about 1.3 MB of JSON)."""
    root = importlib.resources.files("kubernetes_validate") / "kubernetes-json-schema"
    path = root / f"{KUBERNETES_SCHEMA_VERSION}-local" / "_definitions.json"
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    defs: dict[str, Schema] = document["$defs"]
    return defs


@functools.cache
def _gvk_index() -> dict[tuple[str, str, str], str]:
    index: dict[tuple[str, str, str], str] = {}
    for name, schema in definitions().items():
        for gvk in schema.get("x-kubernetes-group-version-kind", ()):
            key = (gvk.get("group", ""), gvk["version"], gvk["kind"])
            # Prefer the definition of the group's own package over re-exports.
            index.setdefault(key, name)
    return index


def definition_name(group: str, version: str, kind: str) -> str | None:
    """``("apps", "v1", "Deployment")`` -> ``"io.k8s.api.apps.v1.Deployment"``."""
    return _gvk_index().get((group, version, kind))


def definition_for(group: str, version: str, kind: str) -> Schema | None:
    name = definition_name(group, version, kind)
    return definitions()[name] if name else None


def ref_name(schema: Schema) -> str | None:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
        return ref[len(_REF_PREFIX):]
    return None


def resolve(schema: Schema) -> Schema:
    """Follow ``$ref`` (and single-element ``allOf``) until a concrete schema is reached."""
    seen = 0
    while seen < 32:
        name = ref_name(schema)
        if name is not None:
            schema = definitions()[name]
        elif "allOf" in schema and len(schema["allOf"]) == 1:
            schema = schema["allOf"][0]
        else:
            return schema
        seen += 1
    return schema


def types_of(schema: Schema) -> set[str]:
    """The JSON types a schema allows (``"null"`` included when listed)."""
    declared = resolve(schema).get("type")
    if declared is None:
        return set()
    if isinstance(declared, str):
        return {declared}
    return set(declared)


def property_schema(schema: Schema, name: str) -> Schema | None:
    """The schema of property ``name`` of an object schema, with ``$ref`` kept (unresolved)."""
    properties = resolve(schema).get("properties")
    if not isinstance(properties, dict):
        return None
    prop = properties.get(name)
    return prop if isinstance(prop, dict) else None


def items_schema(schema: Schema) -> Schema | None:
    items = resolve(schema).get("items")
    return items if isinstance(items, dict) else None


def additional_properties(schema: Schema) -> Schema | None:
    extra = resolve(schema).get("additionalProperties")
    return extra if isinstance(extra, dict) else None
