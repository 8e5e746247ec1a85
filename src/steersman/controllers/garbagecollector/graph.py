"""The ownership graph: every monitored object found by uid, dependents found by owner uid.

Unlike kube's ``GraphBuilder`` this keeps no graph of its own: each monitored resource's
informer is indexed by uid and by owner uid, and the graph is the union of those indexes,
so it is exactly as current as the caches (and needs no event processing to stay right).
An owner that no informer holds is not in the graph; the collector then asks the API.

Neighbours: :mod:`.controller` adds and removes monitors as discovery changes and reads
the graph while reconciling.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from steersman.client import OWNER_UID_INDEX, Informer, Resource

Object = dict[str, Any]
UID_INDEX = "uid"


def by_uid(obj: Object) -> list[str]:
    uid = (obj.get("metadata") or {}).get("uid")
    return [str(uid)] if uid else []


@dataclass(frozen=True)
class Node:
    """One object of the graph and the resource it belongs to."""

    resource: Resource
    obj: Object

    @property
    def uid(self) -> str:
        return str(self.obj["metadata"].get("uid") or "")

    @property
    def name(self) -> str:
        return str(self.obj["metadata"].get("name") or "")

    @property
    def namespace(self) -> str:
        return str(self.obj["metadata"].get("namespace") or "")


class Graph:
    """Owner and dependent look-ups across the informers of every monitored resource."""

    def __init__(self) -> None:
        self._monitors: dict[Resource, Informer] = {}

    def monitored(self) -> set[Resource]:
        return set(self._monitors)

    def add(self, resource: Resource, informer: Informer) -> None:
        self._monitors[resource] = informer

    def remove(self, resource: Resource) -> None:
        self._monitors.pop(resource, None)

    def find(self, uid: str) -> Node | None:
        """The cached object with this uid, if any informer holds it."""
        return next(self._lookup(UID_INDEX, uid), None)

    def dependents(self, owner_uid: str) -> list[Node]:
        """The cached objects with an ownerReference to ``owner_uid``."""
        return list(self._lookup(OWNER_UID_INDEX, owner_uid))

    def _lookup(self, index: str, value: str) -> Iterator[Node]:
        for resource, informer in self._monitors.items():
            for obj in informer.indexer.by_index(index, value):
                yield Node(resource, obj)
