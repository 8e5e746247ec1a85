"""Strategic merge patch, ``application/strategic-merge-patch+json``, as kube-apiserver applies it.

Follows ``strategicpatch.StrategicMergeMapPatch`` of kubernetes/apimachinery
(``pkg/util/strategicpatch/patch.go``; options MergeParallelList and IgnoreUnmatchedNulls):

* maps merge recursively; ``null`` removes a key; a field with strategy ``replace`` is
  replaced whole;
* lists are replaced unless the field's strategy is ``merge``: lists of maps then merge by
  the field's merge key (matched elements merge recursively, new ones join the list),
  lists of primitives become an ordered union;
* directives: ``{"$patch": "replace" | "delete"}`` on a map; ``{"$patch": "delete", <key>: v}``
  and ``{"$patch": "replace"}`` as list elements; ``$deleteFromPrimitiveList/<field>``;
  ``$setElementOrder/<field>`` (order, see :mod:`~steersman.api.patch.element_order`);
  ``$retainKeys`` (drop keys of the live map that are not listed).

Field strategies and merge keys come from :mod:`~steersman.api.patch.patch_meta`. Values the
patch brings in keep no ``null`` members (``null`` only ever means "delete"), and no
directive survives into the result. Every failure is a :class:`MalformedPatch` (400).
"""

from __future__ import annotations

from typing import Any

import orjson

from steersman.api.patch.element_order import (
    DIRECTIVE_MARKER,
    has_directive,
    identity,
    normalize,
    partition,
    validate_set_order,
)
from steersman.api.patch.errors import MalformedPatch
from steersman.api.patch.json_values import JSONObject, deep_copy, json_kind, require_object
from steersman.api.patch.patch_meta import PatchMeta, list_meta, map_meta
from steersman.api.schema import Schema

RETAIN_KEYS = "$retainKeys"
DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList"
SET_ELEMENT_ORDER = "$setElementOrder"


def apply_strategic_merge_patch(
    doc: JSONObject, patch: Any, schema: Schema | None, *, reuse_doc: bool = False
) -> JSONObject:
    """``doc`` with ``patch`` applied; ``schema`` is the kind's definition (None: no strategies).

    ``reuse_doc``: the caller hands ``doc`` over (a private copy it no longer reads), so the
    patch is merged into it in place instead of into a copy.
    """
    require_object(doc, "the document")
    require_object(patch, "a strategic merge patch")
    merged = _merge_map(doc if reuse_doc else deep_copy(doc), deep_copy(patch), schema)
    if not _may_hold_directives(merged):
        return merged  # a private copy already, with nothing to strip
    result: JSONObject = strip_directives(merged)
    return result


def _may_hold_directives(value: JSONObject) -> bool:
    """False when no key in ``value`` starts with ``$``, as every directive's does: its JSON
    then has no ``"$`` (one encoding in C instead of a copy of the whole object)."""
    try:
        return b'"$' in orjson.dumps(value)
    except TypeError:  # not JSON (an integer beyond 64 bits): let the walk decide
        return True


def strip_directives(value: Any) -> Any:
    """A copy without directive keys, and without maps that carry ``$patch``."""
    if isinstance(value, dict):
        return {
            key: strip_directives(item)
            for key, item in value.items()
            if not _is_directive_key(key) and not has_directive(item)
        }
    if isinstance(value, list):
        return [strip_directives(item) for item in value if not has_directive(item)]
    return value


def _is_directive_key(key: str) -> bool:
    return key in (DIRECTIVE_MARKER, RETAIN_KEYS) or key.startswith(
        (f"{DELETE_FROM_PRIMITIVE_LIST}/", f"{SET_ELEMENT_ORDER}/")
    )


def _incoming(value: Any) -> Any:
    """A patch value taken as is: its ``null`` members mean "absent" (``discardNullValues``)."""
    if isinstance(value, dict):
        return {key: _incoming(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_incoming(item) for item in value]
    return value


# --- maps -----------------------------------------------------------------------------


def _merge_map(original: JSONObject, patch: JSONObject, schema: Schema | None) -> JSONObject:
    """Merge ``patch`` into ``original`` (both private copies, mutated) and return it."""
    if DIRECTIVE_MARKER in patch:
        return _map_directive(patch)
    _retain_keys(original, patch)
    _apply_element_orders(original, patch, schema)
    for key, value in patch.items():
        _merge_field(original, key, value, schema)
    return original


def _map_directive(patch: JSONObject) -> JSONObject:
    directive = patch[DIRECTIVE_MARKER]
    if directive == "replace":
        replacement: JSONObject = _incoming(patch)
        del replacement[DIRECTIVE_MARKER]
        return replacement
    if directive == "delete":
        return {}
    raise MalformedPatch(f"unknown patch type: {directive} in map: {patch}")


def _retain_keys(original: JSONObject, patch: JSONObject) -> None:
    if RETAIN_KEYS not in patch:
        return
    retained = patch.pop(RETAIN_KEYS)
    if not isinstance(retained, list):
        raise MalformedPatch("invalid patch format of retainKeys")
    for key, value in patch.items():
        if value is not None and not _is_directive_key(key) and key not in retained:
            raise MalformedPatch("invalid patch format of retainKeys")
    for key in [key for key in original if key not in retained]:
        del original[key]


def _field_name(key: str) -> tuple[str, bool]:
    """``(field, is_delete_list)`` for a patch key."""
    if not key.startswith(DELETE_FROM_PRIMITIVE_LIST):
        return key, False
    prefix, _, field = key.partition("/")
    if prefix != DELETE_FROM_PRIMITIVE_LIST or not field:
        raise MalformedPatch("invalid patch format of primitive list")
    return field, True


def _merge_field(original: JSONObject, key: str, value: Any, schema: Schema | None) -> None:
    field, is_delete_list = _field_name(key)
    if value is None:
        original.pop(field, None)
        return
    current = original.get(field)
    if isinstance(current, dict) and isinstance(value, dict):
        original[field] = _merge_map_field(current, value, map_meta(schema, field))
    elif isinstance(current, list) and isinstance(value, list):
        meta = list_meta(schema, field)
        original[field] = _merge_list_field(current, value, meta, is_delete_list)
    elif not is_delete_list:
        original[field] = _incoming(value)


def _merge_map_field(current: JSONObject, value: JSONObject, meta: PatchMeta) -> JSONObject:
    if meta.strategy == "replace":
        replacement: JSONObject = _incoming(value)
        return replacement
    return _merge_map(current, value, meta.schema)


# --- lists ----------------------------------------------------------------------------


def _merge_list_field(
    current: list[Any], value: list[Any], meta: PatchMeta, is_delete_list: bool
) -> list[Any]:
    # A deletion list applies whatever the field's strategy is, as upstream.
    if meta.strategy == "merge" or is_delete_list:
        return _merge_list(current, value, meta, is_delete_list)
    replacement: list[Any] = _incoming(value)
    return replacement


def _merge_list(
    original: list[Any], patch: list[Any], meta: PatchMeta, is_delete_list: bool
) -> list[Any]:
    return _merge_list_and_live_order(original, patch, meta, is_delete_list)[0]


def _merge_list_and_live_order(
    original: list[Any], patch: list[Any], meta: PatchMeta, is_delete_list: bool
) -> tuple[list[Any], list[Any]]:
    """The merged list, and the live order a following ``$setElementOrder`` step must use.

    Upstream deletes and appends inside the live list's own Go array, so the order that
    ``$setElementOrder`` later compares against is the live list as the merge left it (kept
    elements, then appended ones, cut at the live length), not the list as it was. Mirroring
    this keeps kubectl apply's results element for element (upstream test "add map and
    delete map from merging list").
    """
    if not original and not patch:
        return original, original
    if _element_kind(original, patch) != "object":
        return _merge_primitives(original, patch, is_delete_list), original
    if not meta.merge_key:
        raise MalformedPatch("cannot merge lists of maps without a merge key")
    return _merge_maps_by_key(original, patch, meta)


def _element_kind(*lists: list[Any]) -> str:
    kinds = {json_kind(item) for items in lists for item in items}
    if "array" in kinds:
        raise MalformedPatch("lists of lists are not supported")
    if len(kinds) != 1 or "null" in kinds:
        raise MalformedPatch(f"list element types are not identical: {list(lists)}")
    return kinds.pop()


def _merge_primitives(original: list[Any], patch: list[Any], is_delete_list: bool) -> list[Any]:
    if is_delete_list:
        doomed = {identity(item, "") for item in patch}
        return [item for item in original if identity(item, "") not in doomed]
    merged: dict[Any, Any] = {}
    for item in original + patch:
        merged.setdefault(identity(item, ""), item)
    return normalize(*partition(list(merged.values()), patch, ""), patch, original, "")


def _merge_maps_by_key(
    original: list[Any], patch: list[Any], meta: PatchMeta
) -> tuple[list[Any], list[Any]]:
    key = meta.merge_key
    kept, plain, replaced = _apply_list_directives(original, patch, key)
    merged = list(kept)
    for item in plain:
        at = _find(merged, identity(item, key), key)
        if at is None:
            merged.append(_incoming(item))
        else:
            merged[at] = _merge_map(merged[at], item, meta.schema)
    result = normalize(*partition(merged, plain, key), plain, kept, key)
    return result, original if replaced else merged[: len(original)]


def _apply_list_directives(
    original: list[Any], patch: list[Any], key: str
) -> tuple[list[Any], list[Any], bool]:
    """``mergeSliceWithSpecialElements``: (kept live elements, plain patch elements, replaced).

    ``{"$patch": "delete", key: v}`` drops the live elements with that key;
    ``{"$patch": "replace"}`` makes the plain patch elements the whole list.
    """
    plain: list[Any] = []
    replace = False
    for item in patch:
        directive = item.get(DIRECTIVE_MARKER)
        if DIRECTIVE_MARKER not in item:
            plain.append(item)
        elif directive == "delete":
            doomed = identity(item, key)
            original = [o for o in original if not (key in o and identity(o, key) == doomed)]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise MalformedPatch("merging lists cannot yet be specified in the patch")
        else:
            raise MalformedPatch(f"unknown patch type: {directive} in map: {item}")
    if replace:
        return [_incoming(item) for item in plain], [], True
    return original, plain, False


def _find(items: list[Any], wanted: Any, key: str) -> int | None:
    for index, item in enumerate(items):
        if key in item and identity(item, key) == wanted:
            return index
    return None


# --- $setElementOrder -----------------------------------------------------------------


def _apply_element_orders(original: JSONObject, patch: JSONObject, schema: Schema | None) -> None:
    """Merge each list named by ``$setElementOrder/<field>`` and put it in that order.

    The list is then removed from ``patch`` so that the main loop does not merge it again.
    A field that is not a merge list has no order to keep: the directive is dropped.
    """
    for key in [key for key in patch if key.startswith(f"{SET_ELEMENT_ORDER}/")]:
        order = patch.pop(key)
        field = key[len(SET_ELEMENT_ORDER) + 1 :]
        if not isinstance(order, list) or not field:
            raise MalformedPatch("invalid patch format of setElementOrder list")
        meta = list_meta(schema, field)
        if meta.strategy == "merge":
            _order_field(original, patch, field, order, meta)


def _order_field(
    original: JSONObject, patch: JSONObject, field: str, order: list[Any], meta: PatchMeta
) -> None:
    if field in patch and patch[field] is None:
        return  # the list is deleted; there is nothing left to order
    current = _list_member(original, field)
    incoming = _list_member(patch, field)
    validate_set_order(incoming or [], order, meta.merge_key)
    if current is None and incoming is None:
        return
    if incoming is None:
        merged = live = current or []
    elif current is None:
        merged, live = strip_directives(_incoming(incoming)), []
    else:
        merged, live = _merge_list_and_live_order(current, incoming, meta, is_delete_list=False)
    in_order, rest = partition(merged, order, meta.merge_key)
    original[field] = normalize(in_order, rest, order, live, meta.merge_key)
    patch.pop(field, None)


def _list_member(obj: JSONObject, field: str) -> list[Any] | None:
    value = obj.get(field)
    if value is None or isinstance(value, list):
        return value
    raise MalformedPatch(f"expected a list for {field}, but received a {json_kind(value)}")
