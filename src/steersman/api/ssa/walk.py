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

Every write compares, so shortcuts keep it cheap without changing a result: a create
(nothing compared with the new object) builds its ``added`` set in one walk whose top levels
are remembered by their exact JSON; an update skips the top-level values it left as they
were (``null`` members included; those it carried over from the live object by reference
without encoding them) and takes every value it added whole with that same walk. Scalars
are leaves whatever their type says, without asking it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from steersman.api.exactjson import exact_json, same_json
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
# How deep an update's comparison first checks whether a whole value is unchanged.
_SAME_JSON_DEPTH = 3
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
        if lhs is _MISSING and path:  # all new: the create walk's set, node by node
            if _scalar(rhs):
                self.added.insert(path)
                return
            member, below = _added(rhs, node)
            if member:
                self.added.insert(path)
            if below is not None:
                self.added.graft(path, below)
            return
        if _scalar(lhs) or _scalar(rhs):
            self._leaf(lhs, rhs, path)  # what the kind-driven tests below come to
            return
        if len(path) < _SAME_JSON_DEPTH and same_json(lhs, rhs):
            return  # an update rarely touches every part of an object: skip the equal ones
        kind = node.kind_for(rhs if rhs is not _MISSING else lhs)
        keyed = self._keyed_items(lhs, rhs, node) if kind == "list" else None
        if keyed is not None:
            self._list_items(*keyed, node.items(), path)
        elif kind in ("struct", "map") and self._maps(lhs, rhs, node):
            self._map_entries(lhs, rhs, node, path)
        else:
            self._leaf(lhs, rhs, path)
            return
        if lhs is _MISSING and kind != "struct":
            self.added.insert(path)
        elif rhs is _MISSING:
            self.removed.insert(path)

    def _keyed_items(self, lhs: Any, rhs: Any,
                     node: TypeNode) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """Both sides' items by path element, when they are lists compared item by item:
        granular, not both empty, and no element twice on either side."""
        sides = [v for v in (lhs, rhs) if v is not _MISSING]
        if not all(isinstance(v, list) for v in sides) or not any(sides):
            return None
        if node.is_atomic(sides[0]):
            return None
        keyed = []
        for side in (lhs, rhs):
            pairs = list(list_elements(node, side)) if side is not _MISSING else []
            items = dict(pairs)
            if len(items) != len(pairs):
                return None
            keyed.append(items)
        return keyed[0], keyed[1]

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

    def _list_items(self, left: dict[str, Any], right: dict[str, Any], items: TypeNode,
                    path: Path) -> None:
        for element in {**left, **right}:
            self.compare(left.get(element, _MISSING), right.get(element, _MISSING), items,
                         (*path, element))

    def _map_entries(self, lhs: Any, rhs: Any, node: TypeNode, path: Path) -> None:
        left = lhs if lhs is not _MISSING else {}
        right = rhs if rhs is not _MISSING else {}
        for name in {**left, **right}:
            self.compare(left.get(name, _MISSING), right.get(name, _MISSING), node.field(name),
                         (*path, field_element(name)))


def _scalar(value: Any) -> bool:
    """A value there, neither an object nor an array: compared as a leaf, whatever its type
    says (the list and map walks need both sides to be lists, or maps)."""
    return value is not _MISSING and not isinstance(value, (dict, list))


def compare(lhs: Any, rhs: Any, node: TypeNode) -> Comparison:
    """What changed from ``lhs`` to ``rhs`` (both whole objects)."""
    if lhs == {} and isinstance(rhs, dict) and rhs and _granular_map(rhs, node):
        return Comparison(FieldSet(), _added_entries(rhs, node, _REMEMBERED_LEVELS, _UNIQUE),
                          FieldSet())
    comparer = _Comparer()
    comparer.compare(lhs, rhs, node, ())
    return Comparison(comparer.modified.build(), comparer.added.build(),
                      comparer.removed.build())


def _granular_map(value: dict[str, Any], node: TypeNode) -> bool:
    return node.kind_for(value) in ("struct", "map") and not node.is_atomic({})


# A create compares nothing with the new object: everything in it is added. These walks
# give the set :class:`_Comparer` builds for that case, node by node instead of path by path.
# Objects made from one template (a ReplicaSet's pods) repeat whole subtrees, so the top
# levels' results are remembered by the value's exact JSON: the set depends on nothing else.
Added = tuple[bool, FieldSet | None]
_REMEMBERED_LEVELS = 2
_REMEMBERED_LIMIT = 1024
_remembered: dict[tuple[TypeNode, bytes], Added] = {}
# An object's metadata holds its name and uid: never worth remembering whole.
_UNIQUE = frozenset({"metadata"})


def _added(value: Any, node: TypeNode, levels: int = 0) -> Added:
    """For a value new at some path: whether the path itself is added, and what below it."""
    kind = node.kind_for(value)
    if kind == "list":
        if isinstance(value, list) and value and not node.is_atomic(value):
            elements = [item_element(node, item, index) for index, item in enumerate(value)]
            if len(set(elements)) == len(elements):
                return True, _added_items(elements, value, node.items())
    elif kind != "scalar" and isinstance(value, dict) and value and not node.is_atomic(value):
        return kind != "struct", _added_entries(value, node, levels)
    return True, None


def _added_remembered(value: Any, node: TypeNode, levels: int) -> Added:
    key = exact_json(value)
    if key is None:
        return _added(value, node, levels)
    found = _remembered.get((node, key))
    if found is None:
        member, below = _added(value, node, levels)
        found = member, below.keep_encoding() if below is not None else None
        if len(_remembered) >= _REMEMBERED_LIMIT:
            _remembered.clear()
        _remembered[(node, key)] = found
    return found


def _added_entries(value: dict[str, Any], node: TypeNode, levels: int = 0,
                   unique: frozenset[str] = frozenset()) -> FieldSet:
    members: list[str] = []
    children: dict[str, FieldSet] = {}
    for name, child in value.items():
        element = "f:" + name
        if not isinstance(child, (dict, list)):
            members.append(element)  # a scalar or null: :func:`_added` says a leaf
            continue
        if levels and child:
            remember = _added if name in unique else _added_remembered
            member, below = remember(child, node.field(name), levels - 1)
        else:
            member, below = _added(child, node.field(name))
        if member:
            members.append(element)
        if below is not None:
            children[element] = below
    return FieldSet.of_nodes(frozenset(members), children)


def _added_items(elements: list[str], items: list[Any], node: TypeNode) -> FieldSet:
    members: list[str] = []
    children: dict[str, FieldSet] = {}
    for element, item in zip(elements, items, strict=True):
        if not isinstance(item, (dict, list)):
            members.append(element)
            continue
        member, below = _added(item, node)
        if member:
            members.append(element)
        if below is not None:
            children[element] = below
    return FieldSet.of_nodes(frozenset(members), children)


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
