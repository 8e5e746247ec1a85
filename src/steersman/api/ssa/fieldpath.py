"""Field paths and field sets in the ``fieldsV1`` wire form (structured-merge-diff's ``fieldpath``).

A path is a tuple of path elements, each spelled exactly as in ``fieldsV1``: ``f:<name>``
for a map field, ``k:<json object>`` for the item of a list keyed by some of its fields
(keys sorted by name), ``v:<json>`` for the element of a set and ``i:<n>`` for a list
index. A :class:`FieldSet` is a tree of those elements: a node is a *member* when the
path to it is in the set, and has *children* for longer paths below it; ``fieldsV1``
writes membership as ``".": {}``. Sets are immutable values; every operation returns a
new set (or the set itself when it changes nothing), and equal ``fieldsV1`` documents
decode to one shared set (the document a set handed out, without being read again).
Neighbours: :mod:`steersman.api.ssa.walk` builds sets from objects,
:mod:`steersman.api.ssa.managed` stores them in ``metadata.managedFields``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson

from steersman.api.exactjson import exact_json
from steersman.api.frozen import freeze, freeze_shared

Path = tuple[str, ...]
_MEMBER = "."
# orjson writes strings, 64-bit integers, booleans and null exactly as ``json.dumps`` does
# (with ``ensure_ascii=False``), six times faster; floats and huge integers it writes
# differently, so values holding them go through ``json``.
_ORJSON_INT = range(-(2**63), 2**63)
# Decoded ``fieldsV1`` documents by their JSON: the objects of one template, and one object
# from write to write, carry the same ones.
_DECODED_LIMIT = 1024
_decoded: dict[bytes, FieldSet] = {}
# The shared ``fieldsV1`` documents sets handed out (:meth:`FieldSet.to_fields_v1`), by
# identity: an object's next write brings its live managedFields back with the very same
# documents, never changed in place, and they decode without being read again. Each entry
# keeps its document alive (the set holds it), so an id is not reused while it is listed.
_HANDED_OUT_LIMIT = 8192
_handed_out: dict[int, FieldSet] = {}
# Key elements of list items whose keys are strings and integers, by names and values: every
# write of a kind spells the same ones (``k:{"type":"Ready"}``, a container's name).
_KEY_ELEMENTS_LIMIT = 4096
_key_elements: dict[tuple[Any, ...], str] = {}


def field_element(name: str) -> str:
    return f"f:{name}"


def key_element(keys: Mapping[str, Any]) -> str:
    names = sorted(keys)
    values = tuple(keys[name] for name in names)
    if not all(type(value) is str or type(value) is int for value in values):
        return "k:" + _compact({name: keys[name] for name in names})
    memo = (*names, *values)  # str and int values only: equal tuples, equal keys
    found = _key_elements.get(memo)
    if found is None:
        if len(_key_elements) >= _KEY_ELEMENTS_LIMIT:
            _key_elements.clear()
        found = _key_elements[memo] = "k:" + _compact(dict(zip(names, values, strict=True)))
    return found


def value_element(value: Any) -> str:
    return "v:" + _compact(value)


def index_element(index: int) -> str:
    return f"i:{index}"


def _compact(value: Any) -> str:
    if _orjson_exact(value):
        return orjson.dumps(value).decode()
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _orjson_exact(value: Any) -> bool:
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return value in _ORJSON_INT
    if kind is dict:
        return all(type(k) is str and _orjson_exact(v) for k, v in value.items())
    if kind is list:
        return all(_orjson_exact(item) for item in value)
    return False


def path_string(path: Path) -> str:
    """``.spec.template.spec.containers[name="c"].image``, as kube-apiserver prints paths."""
    return "".join(_element_string(element) for element in path)


def _element_string(element: str) -> str:
    kind, _, body = element.partition(":")
    if kind == "f":
        return f".{body}"
    if kind == "k":
        keys = json.loads(body)
        return "[" + ",".join(f"{name}={_compact(value)}" for name, value in keys.items()) + "]"
    if kind == "v":
        return f"[={body}]"
    return f"[{body}]"


class FieldSet:
    """An immutable set of field paths, stored as a tree of path elements.

    A set many objects share (one remembered by a create's walk, or decoded from
    ``fieldsV1``) keeps its encoding, and :meth:`to_fields_v1` then hands out one shared
    document — the objects of one template carry the same ``managedFields`` entry — which,
    like every written object, is never changed in place (frozen under the test suite).
    """

    __slots__ = ("_children", "_encoded", "_fields_v1", "_members")

    def __init__(self, members: Iterable[str] = (),
                 children: Mapping[str, FieldSet] | None = None) -> None:
        self._members = frozenset(members)
        self._children = {pe: child for pe, child in (children or {}).items()
                          if not child.empty()}
        self._encoded: bytes | None = None
        self._fields_v1: dict[str, Any] | None = None

    @classmethod
    def of_nodes(cls, members: frozenset[str], children: dict[str, FieldSet]) -> FieldSet:
        """A set from parts the caller guarantees: no child is empty (walks building sets)."""
        made = cls.__new__(cls)
        made._members = members
        made._children = children
        made._encoded = None
        made._fields_v1 = None
        return made

    def keep_encoding(self) -> FieldSet:
        """Remember the ``fieldsV1`` encoding, for a set that many objects will share."""
        self._encoded = orjson.dumps(self.to_fields_v1())
        return self

    def keeps_encoding(self) -> bool:
        return self._encoded is not None

    @classmethod
    def of(cls, paths: Iterable[Path]) -> FieldSet:
        builder = FieldSetBuilder()
        for path in paths:
            builder.insert(path)
        return builder.build()

    @property
    def members(self) -> frozenset[str]:
        return self._members

    def child(self, element: str) -> FieldSet | None:
        return self._children.get(element)

    def children(self) -> Mapping[str, FieldSet]:
        return self._children

    def empty(self) -> bool:
        return not self._members and not self._children

    def has(self, path: Path) -> bool:
        node: FieldSet | None = self
        for element in path[:-1]:
            node = node.child(element) if node is not None else None
        return node is not None and bool(path) and path[-1] in node.members

    def paths(self, prefix: Path = ()) -> Iterator[Path]:
        """Every member path, in the order ``fieldsV1`` lists them."""
        for element in sorted(self._members | self._children.keys()):
            if element in self._members:
                yield (*prefix, element)
            child = self._children.get(element)
            if child is not None:
                yield from child.paths((*prefix, element))

    def union(self, other: FieldSet) -> FieldSet:
        """Paths in either set; ``self`` itself when ``other`` adds none, so that a shared set
        keeps its encoding (a manager re-writing the fields it owns)."""
        if other.empty():
            return self
        children = dict(self._children)
        same = other.members <= self._members
        for element, child in other.children().items():
            mine = children.get(element)
            merged = child if mine is None else mine.union(child)
            same = same and merged is mine
            children[element] = merged
        return self if same else FieldSet.of_nodes(self._members | other.members, children)

    def intersection(self, other: FieldSet) -> FieldSet:
        children: dict[str, FieldSet] = {}
        for element, child in self._children.items():
            theirs = other.child(element)
            if theirs is not None:
                children[element] = child.intersection(theirs)
        return FieldSet(self._members & other.members, children)

    def difference(self, other: FieldSet) -> FieldSet:
        """Paths of ``self`` not in ``other`` (members only: children of a removed member stay).

        ``self`` itself when nothing is removed, so that a shared set keeps its encoding."""
        if other.empty():
            return self
        children: dict[str, FieldSet] = {}
        same = self._members.isdisjoint(other.members)
        for element, child in self._children.items():
            theirs = other.child(element)
            kept = child if theirs is None else child.difference(theirs)
            same = same and kept is child
            children[element] = kept
        return self if same else FieldSet(self._members - other.members, children)

    def recursive_difference(self, other: FieldSet) -> FieldSet:
        """Like :meth:`difference`, but a member of ``other`` also removes everything below it.

        ``self`` itself when nothing is removed, as :meth:`difference`."""
        if other.empty():
            return self
        children: dict[str, FieldSet] = {}
        same = self._members.isdisjoint(other.members)
        for element, child in self._children.items():
            if element in other.members:
                same = False
                continue
            theirs = other.child(element)
            kept = child if theirs is None else child.recursive_difference(theirs)
            same = same and kept is child
            children[element] = kept
        return self if same else FieldSet(self._members - other.members, children)

    def to_fields_v1(self) -> dict[str, Any]:
        if self._encoded is not None:
            shared = self._fields_v1
            if shared is None:
                decoded = orjson.loads(self._encoded)
                shared = self._fields_v1 = freeze(decoded) if freeze_shared() else decoded
            if _handed_out.get(id(shared)) is not self:
                if len(_handed_out) >= _HANDED_OUT_LIMIT:
                    _handed_out.clear()
                _handed_out[id(shared)] = self
            return shared
        members, children = self._members, self._children
        if not children:
            return {element: {} for element in sorted(members)}
        out: dict[str, Any] = {}
        for element in sorted(members | children.keys()):
            child = children.get(element)
            if child is None:
                out[element] = {}
            elif element in members:
                out[element] = {_MEMBER: {}, **child.to_fields_v1()}
            else:
                out[element] = child.to_fields_v1()
        return out

    @classmethod
    def from_fields_v1(cls, data: Any) -> FieldSet:
        """Parse ``fieldsV1``; a malformed document raises ``ValueError``."""
        handed_out = _handed_out.get(id(data))
        if handed_out is not None and handed_out._fields_v1 is data:
            return handed_out
        key = exact_json(data)
        if key is None:
            return cls._parse_fields_v1(data)
        found = _decoded.get(key)
        if found is None:
            found = cls._parse_fields_v1(data).keep_encoding()
            if len(_decoded) >= _DECODED_LIMIT:
                _decoded.clear()
            _decoded[key] = found
        return found

    @classmethod
    def _parse_fields_v1(cls, data: Any) -> FieldSet:
        if not isinstance(data, dict):
            raise ValueError("fieldsV1 must be a JSON object")
        members: set[str] = set()
        children: dict[str, FieldSet] = {}
        for element, body in data.items():
            if element == _MEMBER:
                continue
            _check_element(element)
            if not isinstance(body, dict):
                raise ValueError(f"fieldsV1 entry {element!r} must be a JSON object")
            if not body or _MEMBER in body:
                members.add(element)
            child = cls._parse_fields_v1(body)
            if not child.empty():
                children[element] = child
        return cls(members, children)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FieldSet):
            return NotImplemented
        return self._members == other._members and self._children == other._children

    def __hash__(self) -> int:
        return hash((self._members, tuple(sorted(self._children))))

    def __repr__(self) -> str:
        return f"FieldSet({self.to_fields_v1()!r})"


def _check_element(element: str) -> None:
    kind, sep, body = element.partition(":")
    if not sep or kind not in ("f", "k", "v", "i"):
        raise ValueError(f"invalid path element {element!r}")
    if kind in ("k", "v"):
        json.loads(body)
    if kind == "i" and not body.isdigit():
        raise ValueError(f"invalid list index {element!r}")


class FieldSetBuilder:
    """Collects paths one at a time, or whole sets below a path, then freezes them into a
    :class:`FieldSet`."""

    __slots__ = ("_children", "_grafted", "_members")

    def __init__(self) -> None:
        self._members: set[str] = set()
        self._children: dict[str, FieldSetBuilder] = {}
        self._grafted: dict[str, FieldSet] | None = None

    def insert(self, path: Path) -> None:
        if not path:
            return
        node = self
        for element in path[:-1]:
            node = node._child(element)
        node._members.add(path[-1])

    def graft(self, path: Path, fields: FieldSet) -> None:
        """Add every path of ``fields``, below ``path`` (not empty)."""
        if fields.empty():
            return
        node = self
        for element in path[:-1]:
            node = node._child(element)
        if node._grafted is None:
            node._grafted = {}
        last, grafted = path[-1], node._grafted
        earlier = grafted.get(last)
        grafted[last] = fields if earlier is None else earlier.union(fields)

    def _child(self, element: str) -> FieldSetBuilder:
        child = self._children.get(element)
        if child is None:  # not setdefault: a walk passes the same nodes again and again
            child = self._children[element] = FieldSetBuilder()
        return child

    def build(self) -> FieldSet:
        children = {pe: b.build() for pe, b in self._children.items()}
        for element, fields in (self._grafted or {}).items():
            built = children.get(element)
            children[element] = fields if built is None else built.union(fields)
        return FieldSet(self._members, children)
