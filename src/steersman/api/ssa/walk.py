"""Walks of objects against their types: field sets and comparisons (``typed`` in upstream).

* :func:`field_set` — the fields an object (an applied configuration) sets: every scalar and
  atomic value, every list item, every map entry of a granular map, and every named field
  whose value is ``null`` or ``{}``; named fields with content are implied by their
  children, as in structured-merge-diff's ``ToFieldSet``.
* :func:`compare` — what changed from ``lhs`` to ``rhs``: ``modified`` leaves, ``added`` and
  ``removed`` paths. A newly added struct is implied by its fields, not recorded itself
  (the Go types' non-pointer structs are never "added" upstream).
* :func:`with_named_fields` — a set in which every named field with owned children is a
  member too, so that removing it removes the whole field (``EnsureNamedFieldsAreMembers``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from steersman.api.ssa.fieldpath import (
    FieldSet,
    FieldSetBuilder,
    Path,
    field_element,
    index_element,
    key_element,
    value_element,
)
from steersman.api.ssa.typeinfo import TypeNode

_MISSING: Any = object()
FieldFilter = Callable[[FieldSet], FieldSet]


def item_element(node: TypeNode, item: Any, index: int) -> str:
    """The path element of one list item: by key for map lists, by value for sets."""
    if node.list_type == "set" or (node.kind == "untyped" and not isinstance(item, dict)):
        return value_element(item)
    if node.list_type == "map" and isinstance(item, dict):
        keys = node.key_defaults()
        keys.update({k: item[k] for k in node.keys if item.get(k) is not None})
        if keys:
            return key_element(keys)
    return index_element(index)


def list_elements(node: TypeNode, items: list[Any]) -> Iterator[tuple[str, Any]]:
    for index, item in enumerate(items):
        yield item_element(node, item, index), item


def field_set(obj: Any, node: TypeNode) -> FieldSet:
    builder = FieldSetBuilder()
    _collect(obj, node, (), builder)
    return builder.build()


def _collect(value: Any, node: TypeNode, path: Path, out: FieldSetBuilder) -> None:
    kind = node.kind_for(value)
    if kind == "list" and isinstance(value, list) and not node.is_atomic(value):
        items = node.items()
        for element, item in list_elements(node, value):
            _collect(item, items, (*path, element), out)
            out.insert((*path, element))
    elif kind in ("struct", "map") and isinstance(value, dict) and not node.is_atomic(value):
        for name, child in value.items():
            sub = (*path, field_element(name))
            _collect(child, node.field(name), sub, out)
            if child is None or child == {} or not node.declares(name):
                out.insert(sub)
    else:
        out.insert(path)


@dataclass(frozen=True, slots=True)
class Comparison:
    modified: FieldSet
    added: FieldSet
    removed: FieldSet

    def changed(self) -> FieldSet:
        return self.modified.union(self.added)

    def filtered(self, keep: FieldFilter) -> Comparison:
        return Comparison(keep(self.modified), keep(self.added), keep(self.removed))


class _Comparer:
    def __init__(self) -> None:
        self.modified = FieldSetBuilder()
        self.added = FieldSetBuilder()
        self.removed = FieldSetBuilder()

    def compare(self, lhs: Any, rhs: Any, node: TypeNode, path: Path) -> None:
        kind = node.kind_for(rhs if rhs is not _MISSING else lhs)
        if kind == "list" and self._lists(lhs, rhs, node):
            self._list_items(lhs, rhs, node, path)
        elif kind in ("struct", "map") and self._maps(lhs, rhs, node):
            self._map_entries(lhs, rhs, node, path)
        else:
            self._leaf(lhs, rhs, path)
            return
        if lhs is _MISSING and kind != "struct":
            self.added.insert(path)
        elif rhs is _MISSING:
            self.removed.insert(path)

    def _lists(self, lhs: Any, rhs: Any, node: TypeNode) -> bool:
        sides = [v for v in (lhs, rhs) if v is not _MISSING]
        if not all(isinstance(v, list) for v in sides) or not any(sides):
            return False
        if node.is_atomic(sides[0]):
            return False
        return all(_unique(node, v) for v in sides)

    def _maps(self, lhs: Any, rhs: Any, node: TypeNode) -> bool:
        sides = [v for v in (lhs, rhs) if v is not _MISSING]
        if not all(isinstance(v, dict) for v in sides) or not any(sides):
            return False
        return not node.is_atomic(sides[0])

    def _leaf(self, lhs: Any, rhs: Any, path: Path) -> None:
        if lhs is _MISSING:
            self.added.insert(path)
        elif rhs is _MISSING:
            self.removed.insert(path)
        elif lhs != rhs or isinstance(lhs, bool) != isinstance(rhs, bool):
            self.modified.insert(path)

    def _list_items(self, lhs: Any, rhs: Any, node: TypeNode, path: Path) -> None:
        left = dict(list_elements(node, lhs if lhs is not _MISSING else []))
        right = dict(list_elements(node, rhs if rhs is not _MISSING else []))
        items = node.items()
        for element in {**left, **right}:
            self.compare(left.get(element, _MISSING), right.get(element, _MISSING), items,
                         (*path, element))

    def _map_entries(self, lhs: Any, rhs: Any, node: TypeNode, path: Path) -> None:
        left = lhs if lhs is not _MISSING else {}
        right = rhs if rhs is not _MISSING else {}
        for name in {**left, **right}:
            self.compare(left.get(name, _MISSING), right.get(name, _MISSING), node.field(name),
                         (*path, field_element(name)))


def _unique(node: TypeNode, items: list[Any]) -> bool:
    elements = [element for element, _ in list_elements(node, items)]
    return len(set(elements)) == len(elements)


def compare(lhs: Any, rhs: Any, node: TypeNode) -> Comparison:
    """What changed from ``lhs`` to ``rhs`` (both whole objects)."""
    comparer = _Comparer()
    comparer.compare(lhs, rhs, node, ())
    return Comparison(comparer.modified.build(), comparer.added.build(),
                      comparer.removed.build())


def with_named_fields(fields: FieldSet, node: TypeNode) -> FieldSet:
    """``fields`` plus, as members, the named fields (struct fields) that have children."""
    members = set(fields.members)
    children: dict[str, FieldSet] = {}
    for element, child in fields.children().items():
        below = _child_node(node, element)
        if element.startswith("f:") and node.kind == "struct" and node.declares(element[2:]):
            members.add(element)
        children[element] = with_named_fields(child, below)
    return FieldSet(members, children)


def _child_node(node: TypeNode, element: str) -> TypeNode:
    if element.startswith("f:"):
        return node.field(element[2:])
    return node.items()
