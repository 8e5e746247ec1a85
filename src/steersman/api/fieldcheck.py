"""Strict decoding checks for ``fieldValidation``: unknown fields and wrong JSON types.

kube-apiserver decodes a request body against the kind's Go types (built-in kinds) or the
CRD's structural schema (custom resources). With ``fieldValidation=Strict`` a field the
schema does not know fails the request with 400 BadRequest; with ``Warn`` (the default)
each one becomes a ``Warning: 299`` header; with ``Ignore`` nothing is said. A value of the
wrong JSON type fails decoding whatever the mode. This module finds both, from the same
definitions as :mod:`steersman.api.schema` (or a CRD's ``openAPIV3Schema``), and writes
kube-apiserver's messages; the API server decides the mode and raises.

The walk is on the hot path of every write, so a schema is compiled once into a tree of
:class:`_Node` (property tables, accepted Python types, Go type names for messages) and
definitions are compiled once per name and shared, recursive ones included; the verdicts of
:func:`clean` on an object's fields but metadata are remembered by their exact JSON, as
the objects of one template repeat them (:mod:`steersman.api.exactjson`). A ``null``
field is never a type error (Go decodes it as the zero value; kube-apiserver prunes it from a
custom resource when the schema is not ``nullable``); a ``null`` array item of a custom
resource is one unless its schema is ``nullable``.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from steersman.api import schema as definitions
from steersman.api.errors import FieldError, StatusError, bad_request
from steersman.api.exactjson import Remembered, json_key

Schema = Mapping[str, Any]

_INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
_QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_REF_PREFIX = "#/$defs/"
_QUANTITY_ERROR = (
    "quantities must match the regular expression "
    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)
_PY_TYPES: dict[str, frozenset[type]] = {
    "object": frozenset({dict}), "array": frozenset({list}), "string": frozenset({str}),
    "integer": frozenset({int}), "number": frozenset({int, float}),
    "boolean": frozenset({bool}), "null": frozenset({type(None)}),
}
_JSON_NAMES: dict[type, str] = {
    dict: "object", list: "array", str: "string", int: "number", float: "number",
    bool: "bool", type(None): "null",
}
_INT32 = (-(2**31), 2**31 - 1)
_INT32_RANGE = range(_INT32[0], _INT32[1] + 1)


@dataclass(eq=False, slots=True)
class _Node:
    """One compiled schema node. ``accepts`` is None for "any JSON value"."""

    accepts: frozenset[type] | None = None
    properties: dict[str, _Node] | None = None
    items: _Node | None = None
    values: _Node | None = None
    open: bool = False
    quantity: bool = False
    go_struct: str = ""
    go_type: str = ""
    bits: int = 0


@dataclass(frozen=True, slots=True)
class CompiledSchema:
    """A schema ready for :func:`unknown_fields` and :func:`type_errors`; build it once."""

    root: _Node = field(repr=False)


# --- compilation --------------------------------------------------------------------------


class _Compiler:
    """Builds nodes; ``go`` for built-in definitions (Go decoding rules and type names)."""

    def __init__(self, *, go: bool) -> None:
        self.go = go

    def node(self, schema: Schema) -> _Node:
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
            return _definition_node(ref[len(_REF_PREFIX):])
        node = _Node()
        self.fill(node, schema)
        return node

    def fill(self, node: _Node, schema: Schema) -> None:
        node.accepts = self.accepts(schema)
        properties = schema.get("properties")
        if isinstance(properties, dict):
            node.properties = {k: self.node(v) for k, v in properties.items()}
        items = schema.get("items")
        if isinstance(items, dict):
            node.items = self.node(items)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            node.values = self.node(extra)
        node.open = bool(schema.get("x-kubernetes-preserve-unknown-fields")) or extra is True
        if schema.get("x-kubernetes-embedded-resource"):
            node.properties = {**_type_meta(), **(node.properties or {})}
        if self.go and not node.go_type:
            node.go_type = _go_type(schema, node)
            node.bits = 32 if schema.get("format") == "int32" else 0
        elif not self.go and _prunes_everything(node, schema):
            node.properties = {}

    def accepts(self, schema: Schema) -> frozenset[type] | None:
        if schema.get("x-kubernetes-int-or-string") or schema.get("format") == "int-or-string":
            kinds = {"integer", "string"}
        else:
            kinds = _types(schema) or _one_of_types(schema)
        if not kinds:
            return None
        if self.go or schema.get("nullable"):
            kinds.add("null")
        accepted: set[type] = set()
        for kind in kinds:
            accepted |= _PY_TYPES.get(kind, frozenset())
        return frozenset(accepted)


def _prunes_everything(node: _Node, schema: Schema) -> bool:
    """A structural ``type: object`` with no fields keeps none: every field is unknown."""
    bare = node.properties is None and node.values is None and not node.open
    return bare and "object" in _types(schema)


def _types(schema: Schema) -> set[str]:
    declared = schema.get("type")
    if declared is None:
        return set()
    return {declared} if isinstance(declared, str) else set(declared)


def _one_of_types(schema: Schema) -> set[str]:
    kinds: set[str] = set()
    for option in schema.get("oneOf") or ():
        kinds |= _types(option)
    return kinds


def _go_type(schema: Schema, node: _Node) -> str:
    kinds = _types(schema) - {"null"}
    if "integer" in kinds:
        return {"int32": "int32", "int64": "int64"}.get(schema.get("format", ""), "int")
    if "number" in kinds:
        return "float32" if schema.get("format") == "float" else "float64"
    if "boolean" in kinds:
        return "bool"
    if "string" in kinds:
        return "[]uint8" if schema.get("format") == "byte" else "string"
    if "array" in kinds and node.items is not None:
        return "[]" + node.items.go_type
    if node.values is not None:
        return "map[string]" + node.values.go_type
    return "map[string]interface {}" if "object" in kinds else "interface {}"


def _type_meta() -> dict[str, _Node]:
    string = _Node(accepts=frozenset({str, type(None)}), go_type="string")
    return {"apiVersion": string, "kind": string, "metadata": _definition_node(_OBJECT_META)}


_DEFINITION_NODES: dict[str, _Node] = {}
_SCALAR_UNIONS: dict[str, _Node] = {
    # IntOrString decodes a non-string through an int32, so Go names that type.
    _INT_OR_STRING: _Node(accepts=frozenset({int, str, type(None)}), go_type="int32", bits=32),
    _QUANTITY: _Node(accepts=frozenset({str, int, float, type(None)}), quantity=True),
}


def _definition_node(name: str) -> _Node:
    """The shared node of a built-in definition, registered before its children are built
    so that recursive definitions (JSONSchemaProps) point back at it."""
    node = _DEFINITION_NODES.get(name)
    if node is None:
        node = _SCALAR_UNIONS.get(name) or _Node()
        _DEFINITION_NODES[name] = node
        if name not in _SCALAR_UNIONS:
            _fill_definition(node, name)
    return node


def _fill_definition(node: _Node, name: str) -> None:
    schema = definitions.definitions()[name]
    if "properties" in schema:
        package, short = name.rsplit(".", 2)[-2:]
        node.go_struct, node.go_type = short, f"{package}.{short}"
    _Compiler(go=True).fill(node, schema)
    if node.properties is None and node.values is None and _types(schema) <= {"object", "null"}:
        node.accepts, node.open = None, True  # free-form: RawExtension, FieldsV1, Patch, JSON


_CACHE_LIMIT = 256
_verdicts: Remembered[tuple[_Node, bool, bytes], bool] = Remembered(512)
_UNIQUE_STRINGS = frozenset({"name", "generateName", "namespace", "uid", "resourceVersion",
                             "creationTimestamp", "selfLink"})
# Strings that tell apart objects of one template, by top-level field: their names and their
# owners' (a node's Lease is its Node's), the node a pod is bound to, and who renewed a
# Lease when (heartbeats are most of a large cluster's writes).
_SPEC_STRINGS = frozenset({"nodeName", "holderIdentity", "acquireTime", "renewTime"})
_OWNER_STRINGS = frozenset({"name", "uid"})
_compiled: OrderedDict[int, tuple[Schema, CompiledSchema]] = OrderedDict()


def compile_schema(schema: Schema) -> CompiledSchema:
    """Compile a definition of :func:`steersman.api.schema.definitions` or a CRD schema.

    A root always knows ``apiVersion``, ``kind`` and ``metadata`` (ObjectMeta), as
    kube-apiserver adds them to every CRD schema.
    """
    name = _names_by_identity().get(id(schema))
    if name is not None:
        return CompiledSchema(_definition_node(name))
    root = _Node()
    _Compiler(go=False).fill(root, schema)
    root.properties = {**_type_meta(), **(root.properties or {})}
    return CompiledSchema(root)


def compiled_for_kind(group: str, version: str, kind: str) -> CompiledSchema | None:
    """The compiled built-in definition of a kind, or None when there is none."""
    name = definitions.definition_name(group, version, kind)
    return CompiledSchema(_definition_node(name)) if name else None


@functools.cache
def _names_by_identity() -> dict[int, str]:
    return {id(schema): name for name, schema in definitions.definitions().items()}


def _compiled_root(schema: Schema | CompiledSchema) -> _Node:
    if isinstance(schema, CompiledSchema):
        return schema.root
    key = id(schema)
    cached = _compiled.get(key)
    if cached is not None and cached[0] is schema:
        _compiled.move_to_end(key)
        return cached[1].root
    compiled = compile_schema(schema)
    # Keep the schema itself so its id cannot be reused while the entry lives.
    _compiled[key] = (schema, compiled)
    if len(_compiled) > _CACHE_LIMIT:
        _compiled.popitem(last=False)
    return compiled.root


# --- the fast path ------------------------------------------------------------------------


def clean(obj: Any, schema: Schema | CompiledSchema, *, types: bool = True) -> bool:
    """Whether ``obj`` surely has no unknown field (and, with ``types``, no type error).

    One walk that builds no paths or messages, for the usual request with nothing to report;
    ``False`` only means "maybe": :func:`type_errors` and :func:`unknown_fields` then say
    what exactly, as they walk a superset of what this one rejects.
    """
    root = _compiled_root(schema)
    if type(obj) is not dict or root.properties is None:
        return _clean(obj, root, types)
    return _type_fits(obj, root, types) and _clean_fields(obj, root, types)


def _clean_fields(value: dict[str, Any], node: _Node, types: bool) -> bool:
    """:func:`_clean_object` for a whole object, the verdicts on its fields remembered, as the
    objects of one template repeat them. A string's verdict depends on its type alone, so
    the strings that make each object unique (its name, its owner's, its pod's node, its
    Lease's holder and times) are blanked in the key."""
    properties = node.properties
    assert properties is not None
    for key, sub in value.items():
        child = properties.get(key)
        if child is None:
            if not node.open:
                return False
        elif type(sub) is dict or type(sub) is list:
            shape = _blank_metadata(sub) if key == "metadata" else (
                _blank_strings(sub, _SPEC_STRINGS) if key == "spec" else sub)
            if not _clean_remembered(sub, shape, child, types):
                return False
        elif sub is not None and not _type_fits(sub, child, types):
            return False
    return True


def _blank_strings(value: Any, names: frozenset[str]) -> Any:
    if type(value) is not dict:
        return value
    return {key: "" if key in names and type(sub) is str else sub
            for key, sub in value.items()}


def _blank_metadata(value: Any) -> Any:
    shape = _blank_strings(value, _UNIQUE_STRINGS)
    owners = shape.get("ownerReferences") if type(shape) is dict else None
    if type(owners) is list:
        shape["ownerReferences"] = [_blank_strings(owner, _OWNER_STRINGS) for owner in owners]
    return shape


def _clean_remembered(value: Any, shape: Any, node: _Node, types: bool) -> bool:
    """``_clean(value)``, remembered by the exact JSON of ``shape``: ``value`` or a value
    whose verdict is the same."""
    key = json_key(shape)
    if key is None:
        return _clean(value, node, types)
    verdict = _verdicts.get((node, types, key))
    if verdict is None:
        verdict = _verdicts.put((node, types, key), _clean(value, node, types))
    return verdict


def _clean(value: Any, node: _Node, types: bool) -> bool:
    kind = type(value)
    if kind is dict:
        return _type_fits(value, node, types) and _clean_object(value, node, types)
    if kind is list:
        if not _type_fits(value, node, types):
            return False
        items = node.items
        if items is not None:
            for sub in value:
                if not _clean(sub, items, types):
                    return False
        return True
    return _type_fits(value, node, types)


def _type_fits(value: Any, node: _Node, types: bool) -> bool:
    """The type checks of one value itself, not of what it contains."""
    if not types:
        return True
    accepts = node.accepts
    if accepts is not None and type(value) not in accepts:
        return False
    return not (node.bits and type(value) is int and value not in _INT32_RANGE)


def _clean_object(value: dict[str, Any], node: _Node, types: bool) -> bool:
    properties = node.properties
    if properties is not None:
        open_ = node.open
        for key, sub in value.items():
            child = properties.get(key)
            if child is None:
                if not open_:
                    return False
            elif type(sub) is dict or type(sub) is list:
                if not _clean(sub, child, types):
                    return False
            elif sub is not None and not _type_fits(sub, child, types):
                return False
        return True
    values = node.values
    if values is not None:
        for sub in value.values():
            if sub is not None and not _clean(sub, values, types):
                return False
    return True


# --- unknown fields -----------------------------------------------------------------------


def unknown_fields(obj: Any, schema: Schema | CompiledSchema) -> list[str]:
    """Dotted paths of fields the schema does not know, in document order.

    ``spec.foo``, ``spec.template.spec.containers[0].imagePullPolisy``: array elements by
    index, map values by key; maps, free-form objects and preserve-unknown-fields subtrees
    accept anything.
    """
    found: list[str] = []
    _walk_unknown(obj, _compiled_root(schema), "", found)
    return found


def _walk_unknown(value: Any, node: _Node, path: str, found: list[str]) -> None:
    if type(value) is dict:
        properties = node.properties
        if properties is not None:
            open_ = node.open
            for key, sub in value.items():
                child = properties.get(key)
                if child is None:
                    if not open_:
                        found.append(f"{path}.{key}" if path else key)
                elif type(sub) is dict or type(sub) is list:
                    _walk_unknown(sub, child, f"{path}.{key}" if path else key, found)
        elif node.values is not None:
            values = node.values
            for key, sub in value.items():
                if type(sub) is dict or type(sub) is list:
                    _walk_unknown(sub, values, f"{path}.{key}" if path else key, found)
    elif type(value) is list and node.items is not None:
        items = node.items
        for index, sub in enumerate(value):
            if type(sub) is dict or type(sub) is list:
                _walk_unknown(sub, items, f"{path}[{index}]", found)


# --- type errors --------------------------------------------------------------------------


def type_errors(obj: Any, schema: Schema | CompiledSchema) -> list[FieldError]:
    """Values of the wrong JSON type, with kube-apiserver's messages.

    Built-in kinds fail like Go's decoder (``json: cannot unmarshal string into Go struct
    field DeploymentSpec.spec.replicas of type int32``); kube-apiserver stops at the first,
    so callers report ``errors[0]`` (see :func:`decoding_error`). Custom resources fail
    validation (``Invalid value: "string": spec.replicas in body must be of type integer:
    "string"``), every one reported as a 422 cause.
    """
    found: list[FieldError] = []
    _walk_types(obj, _compiled_root(schema), "", "", "", found)
    return found


def _walk_types(value: Any, node: _Node, path: str, go_path: str, struct: str,
                found: list[FieldError]) -> None:
    accepts = node.accepts
    if accepts is not None and type(value) not in accepts:
        error = _mismatch(value, node, path, go_path, struct)
        if error is not None:
            found.append(error)
        return
    if node.bits and type(value) is int and not _INT32[0] <= value <= _INT32[1]:
        found.append(_go_error(f"number {value}", node, path, go_path, struct))
    elif type(value) is dict:
        _walk_object(value, node, path, go_path, struct, found)
    elif type(value) is list and node.items is not None:
        items = node.items
        for index, sub in enumerate(value):
            _walk_types(sub, items, f"{path}[{index}]", go_path, struct, found)


def _walk_object(value: dict[str, Any], node: _Node, path: str, go_path: str, struct: str,
                 found: list[FieldError]) -> None:
    # A null field is never a type error: Go decodes it as the zero value, and for custom
    # resources kube-apiserver prunes nulls of non-nullable fields before validating.
    properties = node.properties
    if properties is not None:
        inner = node.go_struct or struct
        for key, sub in value.items():
            child = properties.get(key)
            if child is not None and sub is not None:
                sub_path = f"{path}.{key}" if path else key
                sub_go = f"{go_path}.{key}" if go_path else key
                _walk_types(sub, child, sub_path, sub_go, inner, found)
    elif node.values is not None:
        values = node.values
        for key, sub in value.items():
            if sub is not None:
                _walk_types(sub, values, f"{path}.{key}" if path else key, go_path, struct,
                            found)


def _mismatch(value: Any, node: _Node, path: str, go_path: str, struct: str) -> FieldError | None:
    if node.quantity:
        return FieldError(path, "FieldValueTypeInvalid", _QUANTITY_ERROR)
    if node.go_type:
        shown = _JSON_NAMES[type(value)]
        if type(value) is float and node.go_type.startswith(("int", "uint")):
            shown = f"number {value!r}"
        return _go_error(shown, node, path, go_path, struct)
    if type(value) is float and int in (node.accepts or ()) and value.is_integer():
        return None  # JSON has one number type; 2.0 is an integer to a CRD schema.
    return _schema_error(value, node, path)


def _go_error(shown: str, node: _Node, path: str, go_path: str, struct: str) -> FieldError:
    where = f"Go struct field {struct}.{go_path}" if struct else "Go value"
    message = f"json: cannot unmarshal {shown} into {where} of type {node.go_type}"
    return FieldError(path, "FieldValueTypeInvalid", message)


_SCHEMA_NAMES: dict[type, str] = {
    dict: "object", list: "array", str: "string", int: "integer", float: "number",
    bool: "boolean", type(None): "null",
}


def _schema_error(value: Any, node: _Node, path: str) -> FieldError:
    actual = _SCHEMA_NAMES[type(value)]
    expected = _expected_name(node.accepts or frozenset())
    detail = f"{path} in body must be of type {expected}: \"{actual}\""
    return FieldError(path, "FieldValueTypeInvalid", f'Invalid value: "{actual}": {detail}')


def _expected_name(accepts: frozenset[type]) -> str:
    names = [_SCHEMA_NAMES[t] for t in (dict, list, str, bool, float, int) if t in accepts]
    if "number" in names:
        names.remove("integer")
    return ",".join(names)


# --- messages -----------------------------------------------------------------------------


def _cannot_handle(kind: str, version: str) -> str:
    return f'{kind} in version "{version}" cannot be handled as a {kind}'


def unknown_field_message(path: str) -> str:
    """``unknown field "spec.foo"``: one strict decoding complaint, also the Warn text."""
    return f'unknown field "{path}"'


def strict_decoding_error(kind: str, version: str, unknown: list[str]) -> StatusError:
    """400 BadRequest for ``fieldValidation=Strict``, every unknown field listed."""
    listed = ", ".join(unknown_field_message(path) for path in unknown)
    return bad_request(f"{_cannot_handle(kind, version)}: strict decoding error: {listed}")


def unknown_field_warnings(unknown: list[str]) -> list[str]:
    """Warning texts for ``fieldValidation=Warn`` (one ``Warning: 299`` header each)."""
    return [unknown_field_message(path) for path in unknown]


def warning_header(text: str) -> str:
    """The ``Warning`` header value kube-apiserver sends: ``299 - "<escaped text>"``."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'299 - "{escaped}"'


def decoding_error(kind: str, version: str, error: FieldError) -> StatusError:
    """400 BadRequest for a built-in kind whose body does not decode (the first type error)."""
    return bad_request(f"{_cannot_handle(kind, version)}: {error.message}")
