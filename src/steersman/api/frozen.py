"""Read-only JSON values: shared objects that must never be changed in place.

Objects in the API server's caches are shared — with watchers in the same process, between
the objects of one template (their ``managedFields`` documents) — and are never changed
once written. :func:`freeze` makes a read-only deep copy whose in-place changes raise
:class:`FrozenObjectError`; the test suite turns sharing into frozen copies
(``STEERSMAN_FREEZE_SHARED=1``, see :func:`freeze_shared`) so that a change made in place
fails loudly instead of corrupting what others read. Copies (``copy``, ``deepcopy``) are
plain and free to change.
"""

from __future__ import annotations

import os
from typing import Any, NoReturn

from steersman.api.patch.json_values import deep_copy

FREEZE_SHARED_ENV = "STEERSMAN_FREEZE_SHARED"


def freeze_shared() -> bool:
    """Whether shared values are handed out frozen (the test suite sets the variable)."""
    return os.environ.get(FREEZE_SHARED_ENV, "") == "1"


class FrozenObjectError(TypeError):
    """A shared (read-only) object was about to be changed in place."""


def _refuse(*_: object, **__: object) -> NoReturn:
    raise FrozenObjectError("this object is shared (an informer's, a local watch's, the "
                            "server's cache's) and read-only: copy it before changing it")


class FrozenDict(dict[str, Any]):
    """A dict that refuses in-place changes; copies (``copy``/``deepcopy``) are plain."""

    __slots__ = ()
    __setitem__ = __delitem__ = _refuse
    clear = pop = popitem = setdefault = update = __ior__ = _refuse

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        return {key: thaw(item) for key, item in self.items()}

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (dict(self),))


class FrozenList(list[Any]):
    """A list that refuses in-place changes; copies are plain."""

    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = extend = insert = pop = remove = clear = sort = reverse = _refuse

    def __copy__(self) -> list[Any]:
        return list(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Any]:
        return [thaw(item) for item in self]

    def __reduce__(self) -> tuple[Any, ...]:
        return (list, (list(self),))


def freeze(value: Any) -> Any:
    """A read-only deep copy of a JSON-shaped value (for tests that check sharing rules)."""
    if isinstance(value, dict):
        frozen = FrozenDict()
        for key, item in value.items():
            dict.__setitem__(frozen, key, freeze(item))
        return frozen
    if isinstance(value, list):
        return FrozenList(freeze(item) for item in value)
    return value


# A plain, mutable deep copy of a JSON-shaped value (frozen or not).
thaw = deep_copy
