"""Element order of merged lists in strategic merge patch, as kube-apiserver computes it.

Mirrors ``normalizeElementOrder``/``mergeSortedSlice`` of kubernetes/apimachinery
``pkg/util/strategicpatch/patch.go`` (design: "preserve order in strategic merge patch").
A merged list is split into the elements the patch names (sorted by the patch's order, or
by ``$setElementOrder``) and server-only elements (sorted by the live order); the two runs
are then interleaved: a server-only element goes before a patch element only when both were
in the live list and it came first there. So edits keep their place, and an element new to
the list goes *before* the server-only elements that follow it, as upstream does.

Elements are compared by identity: the merge-key value for maps, the value itself for
primitives, with JSON kinds kept apart (``true`` is not ``1``).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from steersman.api.patch.errors import MalformedPatch
from steersman.api.patch.json_values import json_kind

DIRECTIVE_MARKER = "$patch"


def identity(item: Any, merge_key: str) -> Hashable:
    """What makes two elements "the same element" of a merge list."""
    value = _key_value(item, merge_key)
    kind = json_kind(value)
    if kind in ("object", "array"):
        raise MalformedPatch(f"merge list element {item!r} cannot be compared: it is an {kind}")
    return (kind, value)


def has_directive(item: Any) -> bool:
    return isinstance(item, dict) and DIRECTIVE_MARKER in item


def partition(merged: list[Any], by: list[Any], merge_key: str) -> tuple[list[Any], list[Any]]:
    """Split ``merged`` into (elements named in ``by``, the others), keeping their order."""
    named = {identity(item, merge_key) for item in by if _keyed(item, merge_key)}
    inside: list[Any] = []
    outside: list[Any] = []
    for item in merged:
        (inside if identity(item, merge_key) in named else outside).append(item)
    return inside, outside


def normalize(
    patch_items: list[Any],
    server_only: list[Any],
    patch_order: list[Any],
    server_order: list[Any],
    merge_key: str,
) -> list[Any]:
    """The final order: each run sorted by its own order, then interleaved by live order."""
    patch_items = _sorted_by(patch_items, patch_order, merge_key)
    server_only = _sorted_by(server_only, server_order, merge_key)
    return _interleave(server_only, patch_items, _positions(server_order, merge_key), merge_key)


def validate_set_order(patch_list: list[Any], order: list[Any], merge_key: str) -> None:
    """The patch list must name a subset of ``$setElementOrder``, in the same relative order."""
    if not patch_list or not order:
        return
    items = [item for item in patch_list if not _is_delete(item, merge_key)]
    at = 0
    for wanted in order:
        while at < len(items) and has_directive(items[at]):
            at += 1
        if at < len(items) and _same(items[at], wanted, merge_key):
            at += 1
    if any(not has_directive(item) for item in items[at:]):
        raise MalformedPatch(
            f"The order in patch list:\n{patch_list}\n"
            f" doesn't match $setElementOrder list:\n{order}"
        )


def _key_value(item: Any, merge_key: str) -> Any:
    if not merge_key:
        return item
    if not isinstance(item, dict) or merge_key not in item:
        raise MalformedPatch(f"map: {item} does not contain declared merge key: {merge_key}")
    return item[merge_key]


def _keyed(item: Any, merge_key: str) -> bool:
    """Upstream skips order entries that lack the merge key when partitioning."""
    if not merge_key:
        return True
    if not isinstance(item, dict):
        raise MalformedPatch(f"expected a map, but received a {json_kind(item)}")
    return merge_key in item


def _is_delete(item: Any, merge_key: str) -> bool:
    if not merge_key:
        return False
    if not isinstance(item, dict):
        raise MalformedPatch(f"expected a map, but received a {json_kind(item)}")
    return item.get(DIRECTIVE_MARKER) == "delete"


def _same(left: Any, right: Any, merge_key: str) -> bool:
    return identity(left, merge_key) == identity(right, merge_key)


def _positions(order: list[Any], merge_key: str) -> dict[Hashable, int]:
    positions: dict[Hashable, int] = {}
    for index, item in enumerate(order):
        positions.setdefault(identity(item, merge_key), index)
    return positions


def _sorted_by(items: list[Any], order: list[Any], merge_key: str) -> list[Any]:
    positions = _positions(order, merge_key)
    return sorted(items, key=lambda item: positions.get(identity(item, merge_key), len(order)))


def _interleave(
    left: list[Any], right: list[Any], positions: dict[Hashable, int], merge_key: str
) -> list[Any]:
    """``mergeSortedSlice``: take from ``left`` only when it is known to come first."""
    result: list[Any] = []
    i = j = 0
    while i < len(left) and j < len(right):
        li = positions.get(identity(left[i], merge_key))
        ri = positions.get(identity(right[j], merge_key))
        if li is not None and ri is not None and li < ri:
            result.append(left[i])
            i += 1
        else:
            result.append(right[j])
            j += 1
    return result + left[i:] + right[j:]
