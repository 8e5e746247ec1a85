"""Strategic-merge-patch metadata of a field, read from the API schema.

kube-apiserver takes each field's patch strategy and merge key from the Go struct tags
(``patchStrategy:"merge" patchMergeKey:"name"``). The ``kubernetes-validate`` definitions
carry the same tags as ``x-kubernetes-patch-strategy`` (``merge``, ``replace``,
``retainKeys``, or ``merge,retainKeys``) and ``x-kubernetes-patch-merge-key`` on the
*property* schema, beside its ``$ref``; :mod:`steersman.api.schema` resolves the ``$ref``s
so the walk reaches nested types (Deployment → spec → template → spec → containers → env).
ObjectMeta is annotated there too (``finalizers``: merge; ``ownerReferences``: merge by
``uid``), so no override table is needed.

A field the schema does not know (or ``schema=None``) has no strategy: maps merge, lists are
replaced, which is what merge patch does.
"""

from __future__ import annotations

from dataclasses import dataclass

from steersman.api.schema import Schema, additional_properties, items_schema, property_schema

_STRATEGY = "x-kubernetes-patch-strategy"
_MERGE_KEY = "x-kubernetes-patch-merge-key"
_RETAIN_KEYS = "retainKeys"


@dataclass(frozen=True, slots=True)
class PatchMeta:
    """How to patch one field, and the schema to walk into below it.

    ``strategy`` is ``"merge"``, ``"replace"`` or ``""``; ``retainKeys`` is dropped from it
    because the ``$retainKeys`` directive is honoured wherever it appears, as upstream does.
    ``schema`` is the field's own schema for a map, its elements' schema for a list.
    """

    strategy: str = ""
    merge_key: str = ""
    schema: Schema | None = None


def field_schema(parent: Schema | None, name: str) -> Schema | None:
    """The schema of member ``name`` of an object: a declared property or a map value."""
    if parent is None:
        return None
    declared = property_schema(parent, name)
    return declared if declared is not None else additional_properties(parent)


def map_meta(parent: Schema | None, name: str) -> PatchMeta:
    """Patch metadata of ``name`` when its value is a JSON object."""
    schema = field_schema(parent, name)
    return _meta(schema, schema)


def list_meta(parent: Schema | None, name: str) -> PatchMeta:
    """Patch metadata of ``name`` when its value is a JSON array."""
    schema = field_schema(parent, name)
    return _meta(schema, items_schema(schema) if schema is not None else None)


def _meta(schema: Schema | None, below: Schema | None) -> PatchMeta:
    if schema is None:
        return PatchMeta()
    tags = [t.strip() for t in str(schema.get(_STRATEGY, "")).split(",") if t.strip()]
    others = [t for t in tags if t != _RETAIN_KEYS]
    merge_key = schema.get(_MERGE_KEY)
    return PatchMeta(
        strategy=others[0] if others else "",
        merge_key=merge_key if isinstance(merge_key, str) else "",
        schema=below,
    )
