"""JSON patch (RFC 6902), ``application/json-patch+json``.

A patch is a list of operations (``add``, ``remove``, ``replace``, ``move``, ``copy``,
``test``) addressed by JSON pointers (RFC 6901: ``~1`` is ``/``, ``~0`` is ``~``; ``-`` names
the slot past the end of an array). Operations apply in order to a private copy; the first
failure aborts the whole patch and the caller's document is untouched.

Errors follow kube-apiserver's split (see :mod:`steersman.api.patch.errors`): a patch that
cannot be read (not a list, unknown ``op``, missing or mistyped members, a pointer that is
not a pointer) raises :class:`MalformedPatch`; a readable patch that does not fit the
document (failed ``test``, missing path, index out of bounds) raises
:class:`PatchTestFailed`. kopf guards its writes with ``test`` on
``/metadata/resourceVersion`` and expects that 422.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from steersman.api.patch.errors import MalformedPatch, PatchTestFailed
from steersman.api.patch.json_values import (
    JSONObject,
    deep_copy,
    json_equal,
    json_kind,
    require_object,
)

_OPERATIONS = frozenset({"add", "remove", "replace", "move", "copy", "test"})
_NEEDS_VALUE = frozenset({"add", "replace", "test"})
_NEEDS_FROM = frozenset({"move", "copy"})
_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]*")
_BAD_ESCAPE = re.compile(r"~(?![01])")
_MISSING = object()


@dataclass(frozen=True, slots=True)
class Operation:
    """One parsed operation: ``path`` and ``from_`` are pointer tokens (unescaped)."""

    op: str
    path: tuple[str, ...]
    from_: tuple[str, ...]
    value: Any


def apply_json_patch(doc: JSONObject, ops: Any) -> JSONObject:
    """``doc`` with every operation of ``ops`` applied, in order."""
    operations = parse_patch(ops)
    result = deep_copy(require_object(doc, "the document"))
    for operation in operations:
        result = _APPLY[operation.op](result, operation)
    if not isinstance(result, dict):
        raise MalformedPatch(f"the patched document must be a JSON object, not {json_kind(result)}")
    return result


def parse_patch(ops: Any) -> list[Operation]:
    """Check the whole patch before touching the document (a bad op anywhere is a 400)."""
    if not isinstance(ops, list):
        raise MalformedPatch(f"a JSON patch must be a JSON array, not {json_kind(ops)}")
    return [_parse_operation(raw) for raw in ops]


def parse_pointer(pointer: Any) -> tuple[str, ...]:
    """RFC 6901: ``""`` is the whole document, else ``/``-separated escaped tokens."""
    if not isinstance(pointer, str):
        raise MalformedPatch(f"a JSON pointer must be a string, not {json_kind(pointer)}")
    if pointer == "":
        return ()
    if not pointer.startswith("/"):
        raise MalformedPatch(f'JSON pointer "{pointer}" must start with "/"')
    if _BAD_ESCAPE.search(pointer):
        raise MalformedPatch(f'JSON pointer "{pointer}" has an invalid "~" escape')
    return tuple(t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/"))


def _parse_operation(raw: Any) -> Operation:
    if not isinstance(raw, dict):
        raise MalformedPatch(f"a JSON patch operation must be an object, not {json_kind(raw)}")
    op = raw.get("op")
    if op not in _OPERATIONS:
        raise MalformedPatch(f"Unexpected kind: {op}")
    if "path" not in raw:
        raise MalformedPatch(f"{op} operation missing path field")
    if op in _NEEDS_VALUE and "value" not in raw:
        raise MalformedPatch(f"{op} operation missing value field")
    if op in _NEEDS_FROM and "from" not in raw:
        raise MalformedPatch(f"{op} operation missing from field")
    from_ = parse_pointer(raw["from"]) if op in _NEEDS_FROM else ()
    return Operation(op, parse_pointer(raw["path"]), from_, raw.get("value"))


def _show(tokens: tuple[str, ...]) -> str:
    return "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in tokens)


def _array_index(array: list[Any], token: str, tokens: tuple[str, ...], *, end: int) -> int:
    """The index ``token`` names in ``array``, valid in ``0..end`` (``-`` is ``len``)."""
    if token == "-":
        index = len(array)
    elif _ARRAY_INDEX.fullmatch(token):
        index = int(token)
    else:
        raise MalformedPatch(f'"{token}" in "{_show(tokens)}" is not an array index')
    if index > end:
        raise PatchTestFailed(f'index {token} of "{_show(tokens)}" is out of bounds')
    return index


def _resolve(doc: Any, tokens: tuple[str, ...]) -> Any:
    """The value at ``tokens``, or ``_MISSING``."""
    current = doc
    for token in tokens:
        if isinstance(current, dict):
            current = current.get(token, _MISSING)
        elif isinstance(current, list):
            index = _array_index(current, token, tokens, end=len(current))
            current = current[index] if index < len(current) else _MISSING
        else:
            return _MISSING
        if current is _MISSING:
            return _MISSING
    return current


def _get(doc: Any, tokens: tuple[str, ...], op: str) -> Any:
    value = _resolve(doc, tokens)
    if value is _MISSING:
        path = _show(tokens)
        raise PatchTestFailed(f'{op} operation does not apply: doc is missing path: "{path}"')
    return value


def _parent(doc: Any, tokens: tuple[str, ...], op: str) -> dict[str, Any] | list[Any]:
    parent = _get(doc, tokens[:-1], op)
    if not isinstance(parent, dict | list):
        raise PatchTestFailed(f'{op} operation does not apply: "{_show(tokens[:-1])}" is a scalar')
    return parent


def _add(doc: Any, operation: Operation) -> Any:
    return _insert(doc, operation.path, deep_copy(operation.value), "add")


def _insert(doc: Any, tokens: tuple[str, ...], value: Any, op: str) -> Any:
    if not tokens:
        return value
    parent, last = _parent(doc, tokens, op), tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    else:
        parent.insert(_array_index(parent, last, tokens, end=len(parent)), value)
    return doc


def _remove(doc: Any, operation: Operation) -> Any:
    _take(doc, operation.path, "remove")
    return doc


def _take(doc: Any, tokens: tuple[str, ...], op: str) -> Any:
    """Remove and return the value at ``tokens`` (which must exist)."""
    if not tokens:
        raise PatchTestFailed(f"{op} operation does not apply: cannot remove the whole document")
    _get(doc, tokens, op)
    parent, last = _parent(doc, tokens, op), tokens[-1]
    if isinstance(parent, dict):
        return parent.pop(last)
    return parent.pop(_array_index(parent, last, tokens, end=len(parent) - 1))


def _replace(doc: Any, operation: Operation) -> Any:
    _get(doc, operation.path, "replace")
    if not operation.path:
        return deep_copy(operation.value)
    parent, last = _parent(doc, operation.path, "replace"), operation.path[-1]
    if isinstance(parent, dict):
        parent[last] = deep_copy(operation.value)
    else:
        index = _array_index(parent, last, operation.path, end=len(parent) - 1)
        parent[index] = deep_copy(operation.value)
    return doc


def _move(doc: Any, operation: Operation) -> Any:
    if operation.from_ == operation.path:
        _get(doc, operation.from_, "move")
        return doc
    if operation.path[: len(operation.from_)] == operation.from_:
        raise MalformedPatch(
            f'move operation: "{_show(operation.from_)}" cannot be moved into its own child'
        )
    value = _take(doc, operation.from_, "move")
    return _insert(doc, operation.path, value, "move")


def _copy(doc: Any, operation: Operation) -> Any:
    value = deep_copy(_get(doc, operation.from_, "copy"))
    return _insert(doc, operation.path, value, "copy")


def _test(doc: Any, operation: Operation) -> Any:
    if not json_equal(_get(doc, operation.path, "test"), operation.value):
        raise PatchTestFailed(f'testing value "{_show(operation.path)}" failed')
    return doc


_APPLY = {
    "add": _add,
    "remove": _remove,
    "replace": _replace,
    "move": _move,
    "copy": _copy,
    "test": _test,
}
