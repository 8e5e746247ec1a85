"""JSON values as Python holds them: kinds, exact equality, copies.

Decoded JSON is ``dict``/``list``/``str``/``int``/``float``/``bool``/``None``. Python's own
``==`` is not JSON equality: ``True == 1`` holds in Python but ``true`` and ``1`` are
different JSON values, while ``1 == 1.0`` is right for JSON (one number type). The three
patch types share these helpers so they agree on what "the same value" means.
"""

from __future__ import annotations

from typing import Any

from steersman.api.patch.errors import MalformedPatch

JSONObject = dict[str, Any]


def json_kind(value: Any) -> str:
    """``"null"``, ``"boolean"``, ``"number"``, ``"string"``, ``"array"`` or ``"object"``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise MalformedPatch(f"not a JSON value: {type(value).__name__}")


def json_equal(left: Any, right: Any) -> bool:
    """Deep JSON equality: ``1 == 1.0``, but ``true != 1`` and key order does not matter."""
    kind = json_kind(left)
    if kind != json_kind(right):
        return False
    if kind == "object":
        return left.keys() == right.keys() and all(json_equal(v, right[k]) for k, v in left.items())
    if kind == "array":
        return len(left) == len(right) and all(map(json_equal, left, right))
    return bool(left == right)


def deep_copy(value: Any) -> Any:
    """A copy that shares no dict or list with ``value`` (JSON values only)."""
    if isinstance(value, dict):
        return {key: deep_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [deep_copy(item) for item in value]
    return value


def require_object(value: Any, what: str) -> JSONObject:
    """``value`` itself if it is a JSON object, else :class:`MalformedPatch`."""
    if not isinstance(value, dict):
        raise MalformedPatch(f"{what} must be a JSON object, not {json_kind(value)}")
    return value
