"""JSON encoding of the runtime's frozen dataclasses, for the on-disk state directory.

``encode`` turns a dataclass tree into JSON-ready values; ``decode(cls, data)`` rebuilds
it from the field types (str/int/float/bool, ``X | None``, ``tuple[X, ...]``,
``Mapping[str, str]``, enums, ``datetime``, ``frozenset`` of enums, nested dataclasses).
Unknown keys are ignored so that older agents can read newer records.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

T = TypeVar("T")


def encode(value: object) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list | frozenset | set):
        return [encode(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): encode(item) for key, item in value.items()}
    return value


def decode(cls: type[T], data: Mapping[str, Any]) -> T:
    kwargs = {name: _decode_value(hint, data[name])
              for name, hint in _field_hints(typing.cast(Any, cls)) if name in data}
    return cls(**kwargs)


@functools.cache
def _field_hints(cls: Any) -> tuple[tuple[str, Any], ...]:
    # Resolving the string annotations is costly and fixed per class; the agent decodes
    # every container's records at each relist.
    hints = typing.get_type_hints(cls)
    return tuple((f.name, hints[f.name]) for f in dataclasses.fields(cls))


def _decode_value(hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        inner = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _decode_value(inner[0], value)
    if origin is tuple:
        return tuple(_decode_value(typing.get_args(hint)[0], item) for item in value)
    if origin is frozenset:
        return frozenset(_decode_value(typing.get_args(hint)[0], item) for item in value)
    if origin in (Mapping, dict, typing.Mapping):
        return dict(value)
    return _decode_scalar(hint, value)


def _decode_scalar(hint: Any, value: Any) -> Any:
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return decode(hint, value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(value)
    if hint is datetime:
        return datetime.fromisoformat(value)
    return value
