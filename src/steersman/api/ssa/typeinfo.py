"""What server-side apply needs to know about a field's type, derived from the API schema.

kube-apiserver converts the OpenAPI definitions into structured-merge-diff types
(kube-openapi ``schemaconv``); this module does the same, lazily, for the
``kubernetes-validate`` definitions of built-in kinds and for a CRD's
``openAPIV3Schema``:

* an object with ``properties`` is a *struct* (its fields are named fields); one with only
  ``additionalProperties`` a *map*; either is atomic with ``x-kubernetes-map-type: atomic``;
* an array is a list whose ``x-kubernetes-list-type`` is ``atomic``, ``set`` or ``map``
  (keyed by ``x-kubernetes-list-map-keys``); without it, a list with patch strategy
  ``merge`` is a map keyed by its ``x-kubernetes-patch-merge-key`` (a set without one),
  and any other list is atomic, as upstream;
* anything the schema does not describe is *untyped*: its shape is deduced from the value,
  maps granular and lists atomic.

``metadata`` is always ``ObjectMeta``, whatever a CRD schema says, as upstream.
"""

from __future__ import annotations

import functools
from typing import Any, Literal

from steersman.api import schema as api_schema
from steersman.api.schema import Schema

Kind = Literal["scalar", "struct", "map", "list", "untyped"]
_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
# Key fields whose OpenAPI default the bundled definitions omit (``+default="TCP"`` in Go).
_KEY_DEFAULTS: dict[str, Any] = {"protocol": "TCP"}


class TypeNode:
    """The type of one field: how to walk, merge and own its value."""

    __slots__ = ("_children", "_items", "_overrides", "_schema", "atomic", "keys", "kind",
                 "list_type")

    def __init__(self, schema: Schema | None,
                 overrides: dict[str, TypeNode] | None = None) -> None:
        self._schema = api_schema.resolve(schema) if schema is not None else None
        self._overrides = overrides or {}
        self._children: dict[str, TypeNode] = {}
        self._items: TypeNode | None = None
        self.kind: Kind = _kind_of(self._schema)
        self.atomic = bool(_extension(schema, "x-kubernetes-map-type") == "atomic")
        self.list_type, self.keys = _list_type(schema) if self.kind == "list" else ("", ())
        if self.kind == "list":
            self.atomic = self.list_type == "atomic"

    def kind_for(self, value: Any) -> Kind:
        """The node's kind; for an untyped node, the kind the value has."""
        if self.kind != "untyped":
            return self.kind
        if isinstance(value, dict):
            return "map"
        if isinstance(value, list):
            return "list"
        return "scalar"

    def is_atomic(self, value: Any) -> bool:
        if self.kind == "untyped":
            return isinstance(value, list)
        return self.atomic

    def declares(self, name: str) -> bool:
        """Whether ``name`` is a named field of this struct (not a map entry)."""
        if name in self._overrides:
            return True
        properties = self._schema.get("properties") if self._schema is not None else None
        return isinstance(properties, dict) and name in properties

    def field(self, name: str) -> TypeNode:
        node = self._children.get(name)
        if node is None:
            node = self._overrides.get(name) or TypeNode(self._field_schema(name))
            self._children[name] = node
        return node

    def items(self) -> TypeNode:
        if self._items is None:
            items = self._schema.get("items") if self._schema is not None else None
            self._items = TypeNode(items if isinstance(items, dict) else None)
        return self._items

    def key_defaults(self) -> dict[str, Any]:
        return {k: _KEY_DEFAULTS[k] for k in self.keys if k in _KEY_DEFAULTS}

    def _field_schema(self, name: str) -> Schema | None:
        if self._schema is None:
            return None
        properties = self._schema.get("properties")
        if isinstance(properties, dict) and isinstance(properties.get(name), dict):
            prop: Schema = properties[name]
            return prop
        extra = self._schema.get("additionalProperties")
        return extra if isinstance(extra, dict) else None


def _kind_of(schema: Schema | None) -> Kind:
    if schema is None or "oneOf" in schema or "anyOf" in schema:
        return "scalar" if schema is not None else "untyped"
    if schema.get("x-kubernetes-int-or-string"):
        return "scalar"
    declared = schema.get("type")
    types = {declared} if isinstance(declared, str) else set(declared or ())
    if "array" in types:
        return "list"
    if "object" in types or "properties" in schema:
        if isinstance(schema.get("properties"), dict):
            return "struct"
        return "map" if isinstance(schema.get("additionalProperties"), dict) else "untyped"
    return "scalar" if types else "untyped"


def _extension(schema: Schema | None, name: str) -> Any:
    """An extension set on the field itself, or else on the type it refers to."""
    if schema is None:
        return None
    if name in schema:
        return schema[name]
    return api_schema.resolve(schema).get(name)


def _list_type(schema: Schema | None) -> tuple[str, tuple[str, ...]]:
    declared = _extension(schema, "x-kubernetes-list-type")
    if declared == "map":
        keys = _extension(schema, "x-kubernetes-list-map-keys") or ()
        return "map", tuple(str(k) for k in keys)
    if declared in ("set", "atomic"):
        return str(declared), ()
    strategy = str(_extension(schema, "x-kubernetes-patch-strategy") or "")
    if "merge" in strategy.split(","):
        key = _extension(schema, "x-kubernetes-patch-merge-key")
        return ("map", (str(key),)) if key else ("set", ())
    return "atomic", ()


@functools.cache
def _object_meta() -> TypeNode:
    return TypeNode(api_schema.definitions()[_OBJECT_META])


@functools.cache
def builtin_root(group: str, version: str, kind: str) -> TypeNode:
    """The type of a built-in kind (shared, cached: nodes only grow their lazy children)."""
    return root(api_schema.definition_for(group, version, kind))


def root(schema: Schema | None) -> TypeNode:
    """The type of a whole object described by ``schema`` (``None``: untyped)."""
    base = schema if schema is not None else {"type": "object", "properties": {}}
    return TypeNode(base, overrides={"metadata": _object_meta()})
