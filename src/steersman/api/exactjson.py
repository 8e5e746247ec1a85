"""Exact JSON encodings of values, and results of pure functions remembered by them.

Objects made from one template (a ReplicaSet's pods, a Job's) repeat whole subtrees, and
every write runs pure functions over them: the strict field check, defaulting, validation,
field ownership (:mod:`steersman.api.ssa`). :func:`exact_json` is a value's encoding when it
tells the value apart from every other JSON value; a :class:`Remembered` table keeps
results by it, so a repeated subtree costs one ``orjson.dumps`` instead of a walk.

Only JSON values decoded from requests and the store pass through these functions; like
JSON itself, an encoding cannot tell a tuple from a list.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import orjson

# Options under which orjson refuses (TypeError) what it would otherwise write as a string.
_EXACT_JSON = (orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS
               | orjson.OPT_PASSTHROUGH_DATACLASS)
# The members of a JSON object have no order: two objects that list them differently (a
# client's body and the stored object) are the same value.
_SAME_JSON = _EXACT_JSON | orjson.OPT_SORT_KEYS

# Values larger than this are not worth a table entry (a kubectl last-applied annotation).
_MAX_KEY_BYTES = 16 * 1024

Key = TypeVar("Key")
Result = TypeVar("Result")


def exact_json(value: Any) -> bytes | None:
    """The value's JSON when it tells the value apart from every other JSON value, else None.

    orjson writes NaN and infinities as ``null``: a value with a null in it gets None.
    """
    try:
        encoded = orjson.dumps(value, option=_EXACT_JSON)
    except TypeError:
        return None
    return None if b"null" in encoded else encoded


def same_json(lhs: Any, rhs: Any) -> bool:
    """Whether two objects or arrays are the same JSON value, ``null`` members allowed.

    ``==`` alone is not enough (``1 == 1.0 == True``), equal encodings alone neither (NaN and
    ``null`` both encode as ``null``); both together are: ``==`` never holds between NaN and
    None, and tells apart every pair of values with equal encodings (keys sorted, as member
    order is no part of a JSON value). A value is the same as itself without encoding it:
    writes carry what they leave alone over from the live object by reference (a ``/status``
    write, the pod's whole spec).
    """
    if lhs is rhs:
        return type(lhs) is dict or type(lhs) is list
    if type(lhs) is not type(rhs) or type(lhs) not in (dict, list) or lhs != rhs:
        return False
    try:
        if orjson.dumps(lhs, option=_EXACT_JSON) == orjson.dumps(rhs, option=_EXACT_JSON):
            return True  # the usual case, without sorting
        return orjson.dumps(lhs, option=_SAME_JSON) == orjson.dumps(rhs, option=_SAME_JSON)
    except TypeError:
        return False


def json_key(value: Any) -> bytes | None:
    """:func:`exact_json` for a table key: None also when the value is too big to keep."""
    encoded = exact_json(value)
    return encoded if encoded is not None and len(encoded) <= _MAX_KEY_BYTES else None


class Remembered(Generic[Key, Result]):
    """A bounded table of results; emptied when full, as any entry is cheap to recompute."""

    __slots__ = ("_limit", "_table")

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._table: dict[Key, Result] = {}

    def get(self, key: Key) -> Result | None:
        return self._table.get(key)

    def put(self, key: Key, result: Result) -> Result:
        if len(self._table) >= self._limit:
            self._table.clear()
        self._table[key] = result
        return result
