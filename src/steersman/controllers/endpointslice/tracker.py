"""Remembering this controller's own slice writes until the informer has seen them.

Upstream's ``EndpointSliceTracker``: right after a create, the informer cache does not hold
the new slice yet, and reconciling the Service again from that cache would create a second
one. So every write is recorded (name → resourceVersion written, or ``None`` for a delete),
and a Service whose cache is behind its own writes is not reconciled until it has caught
up (or ``patience`` seconds have passed: a missed event must not wedge the Service).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Object = dict[str, Any]


@dataclass
class _Writes:
    since: float
    slices: dict[str, int | None] = field(default_factory=dict)


class SliceTracker:
    def __init__(self, *, patience: float = 10.0) -> None:
        self._patience = patience
        self._writes: dict[str, _Writes] = {}

    def wrote(self, service_key: str, obj: Object, now: float) -> None:
        self._record(service_key, obj, _revision(obj), now)

    def deleted(self, service_key: str, obj: Object, now: float) -> None:
        self._record(service_key, obj, None, now)

    def forget(self, service_key: str) -> None:
        self._writes.pop(service_key, None)

    def caught_up(self, service_key: str, cached: Mapping[str, Object], now: float) -> bool:
        """Whether ``cached`` (name → slice) reflects every write recorded for the Service."""
        writes = self._writes.get(service_key)
        if writes is None:
            return True
        if now - writes.since > self._patience or all(
                _reflected(cached.get(name), revision) for name, revision in writes.slices.items()):
            del self._writes[service_key]
            return True
        return False

    def _record(self, service_key: str, obj: Object, revision: int | None, now: float) -> None:
        writes = self._writes.setdefault(service_key, _Writes(now))
        writes.slices[str(obj["metadata"]["name"])] = revision


def _reflected(cached: Object | None, revision: int | None) -> bool:
    if revision is None:
        return cached is None
    return cached is not None and _revision(cached) >= revision


def _revision(obj: Object) -> int:
    text = str((obj.get("metadata") or {}).get("resourceVersion") or "0")
    return int(text) if text.isdigit() else 0
