"""Merging an applied configuration into a live object, and removing fields from one.

:func:`merge` is structured-merge-diff's ``Merge``: the configuration wins on every leaf;
granular maps and structs merge entry by entry; map lists merge item by item, matched by
their keys, sets element by element, and atomic lists and maps are replaced whole. Items
keep the configuration's order where both sides have them; live-only items stay where they
were. A ``null`` in the configuration removes the field, as decoding it into a Kubernetes
type does.

:func:`remove_fields` is ``RemoveItems``: every member path of the set is removed from the
object with everything below it; the set's children lead the walk to deeper removals.
"""

from __future__ import annotations

from typing import Any

from steersman.api.ssa.fieldpath import FieldSet, field_element
from steersman.api.ssa.typeinfo import TypeNode
from steersman.api.ssa.walk import list_elements

_MISSING: Any = object()


def merge(lhs: Any, rhs: Any, node: TypeNode) -> Any:
    """``rhs`` (the applied configuration) merged into ``lhs`` (the live object)."""
    if lhs is _MISSING:
        return _without_nulls(rhs)
    kind = node.kind_for(rhs)
    if kind == "list" and isinstance(lhs, list) and isinstance(rhs, list):
        return rhs if node.is_atomic(rhs) else _merge_lists(lhs, rhs, node)
    if kind in ("struct", "map") and isinstance(lhs, dict) and isinstance(rhs, dict):
        return rhs if node.is_atomic(rhs) else _merge_maps(lhs, rhs, node)
    return _without_nulls(rhs)


def _merge_maps(lhs: dict[str, Any], rhs: dict[str, Any], node: TypeNode) -> dict[str, Any]:
    out = dict(lhs)
    for name, value in rhs.items():
        if value is None:
            out.pop(name, None)
        else:
            out[name] = merge(lhs.get(name, _MISSING), value, node.field(name))
    return out


def _merge_lists(lhs: list[Any], rhs: list[Any], node: TypeNode) -> list[Any]:
    left = list(list_elements(node, lhs))
    right = list(list_elements(node, rhs))
    left_index = dict(left)
    right_index = dict(right)
    items = node.items()
    out: list[Any] = []
    done: set[str] = set()
    li = ri = 0
    while li < len(left) or ri < len(right):
        if li < len(left) and (left[li][0] in done or left[li][0] not in right_index):
            if left[li][0] not in done:
                out.append(left[li][1])
                done.add(left[li][0])
            li += 1
            continue
        if ri < len(right):
            element, value = right[ri]
            if element not in done:
                out.append(merge(left_index.get(element, _MISSING), value, items))
                done.add(element)
            ri += 1
        else:
            li += 1
    return out


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def remove_fields(value: Any, fields: FieldSet, node: TypeNode) -> Any:
    """``value`` without the member paths of ``fields`` (and everything below them)."""
    if fields.empty():
        return value
    kind = node.kind_for(value)
    if kind == "list" and isinstance(value, list) and not node.is_atomic(value):
        return _remove_from_list(value, fields, node)
    if kind in ("struct", "map") and isinstance(value, dict) and not node.is_atomic(value):
        return _remove_from_map(value, fields, node)
    return value


def _remove_from_list(value: list[Any], fields: FieldSet, node: TypeNode) -> list[Any]:
    items = node.items()
    out: list[Any] = []
    for element, item in list_elements(node, value):
        if element in fields.members:
            continue
        below = fields.child(element)
        out.append(remove_fields(item, below, items) if below is not None else item)
    return out


def _remove_from_map(value: dict[str, Any], fields: FieldSet,
                     node: TypeNode) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, child in value.items():
        element = field_element(name)
        if element in fields.members:
            continue
        below = fields.child(element)
        out[name] = remove_fields(child, below, node.field(name)) if below is not None else child
    return out
