"""JSON merge patch (RFC 7386), ``application/merge-patch+json``.

An object in the patch merges into the target member by member; ``null`` removes a member;
anything else (arrays included) replaces the target value whole. kubectl label/annotate/
scale, kopf and kr8s send this. Neither input is mutated: the result shares nothing with
them.
"""

from __future__ import annotations

from typing import Any

from steersman.api.patch.json_values import JSONObject, deep_copy, require_object


def apply_merge_patch(doc: JSONObject, patch: Any) -> JSONObject:
    """``doc`` with the merge patch applied; a patch that is not an object is a 400."""
    require_object(doc, "the document")
    require_object(patch, "a merge patch")
    result: JSONObject = merge_patch_value(doc, patch)
    return result


def merge_patch_value(target: Any, patch: Any) -> Any:
    """RFC 7386 ``MergePatch(Target, Patch)`` for any JSON values (the RFC's own pseudocode)."""
    if not isinstance(patch, dict):
        return deep_copy(patch)
    result = deep_copy(target) if isinstance(target, dict) else {}
    _merge_into(result, patch)
    return result


def _merge_into(target: JSONObject, patch: JSONObject) -> None:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict):
            current = target.get(key)
            if not isinstance(current, dict):
                current = target[key] = {}
            _merge_into(current, value)
        else:
            target[key] = deep_copy(value)
