"""What the garbage collector does about one object, decided from state alone (no I/O).

The rules are kube-controller-manager's (``pkg/controller/garbagecollector``):

* an object's owners are each *present*, *absent* (not found, or found with another uid
  or in another namespace) or *deleting dependents* (being deleted with
  ``foregroundDeletion``) — :func:`owner_state`;
* a dependent with at least one present owner keeps living and loses only its references
  to the others; one with no present owner is deleted — in the foreground when an owner
  waits for it, else in the background — :func:`plan_dependent`;
* an owner deleted in the foreground keeps its ``foregroundDeletion`` finalizer while a
  dependent with ``blockOwnerDeletion: true`` remains — :func:`plan_foreground`;
* an owner deleted with the ``orphan`` finalizer first removes itself from its dependents'
  ``ownerReferences``.

Writes are JSON patches that ``test`` the resourceVersion they were computed from, so a
stale cache makes a write fail (and the key be looked at again) instead of losing a
change made meanwhile.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Object = dict[str, Any]
JSONPatch = list[dict[str, Any]]

ORPHAN_FINALIZER = "orphan"
FOREGROUND_FINALIZER = "foregroundDeletion"
BACKGROUND = "Background"
FOREGROUND = "Foreground"


class OwnerState(enum.Enum):
    PRESENT = "present"
    ABSENT = "absent"
    DELETING_DEPENDENTS = "deletingDependents"


@dataclass(frozen=True)
class Keep:
    """Nothing to do: every owner is present, or the object has none."""


@dataclass(frozen=True)
class RemoveOwnerReferences:
    """Some owners remain: drop only the references to the owners in ``uids``."""

    uids: frozenset[str]


@dataclass(frozen=True)
class Delete:
    """No owner remains: delete the dependent with this propagation policy."""

    propagation_policy: str


DependentAction = Keep | RemoveOwnerReferences | Delete


@dataclass(frozen=True)
class ForegroundPlan:
    """An owner deleted in the foreground: whom it waits for, whom to look at next."""

    blocking: tuple[str, ...]
    """uids of dependents with ``blockOwnerDeletion: true`` that still exist."""
    to_delete: tuple[str, ...]
    """uids of dependents not yet being deleted."""

    @property
    def done(self) -> bool:
        return not self.blocking


def metadata(obj: Object) -> Object:
    meta: Object = obj.get("metadata") or {}
    return meta


def uid_of(obj: Object) -> str:
    return str(metadata(obj).get("uid") or "")


def owner_references(obj: Object) -> list[Object]:
    return [ref for ref in metadata(obj).get("ownerReferences") or [] if ref.get("uid")]


def owner_uids(obj: Object) -> set[str]:
    return {str(ref["uid"]) for ref in owner_references(obj)}


def is_deleting(obj: Object) -> bool:
    return bool(metadata(obj).get("deletionTimestamp"))


def has_finalizer(obj: Object, finalizer: str) -> bool:
    return finalizer in (metadata(obj).get("finalizers") or ())


def pending_finalizer(obj: Object) -> str | None:
    """The garbage collector's finalizer to work on: ``orphan`` first, then foreground."""
    if not is_deleting(obj):
        return None
    for finalizer in (ORPHAN_FINALIZER, FOREGROUND_FINALIZER):
        if has_finalizer(obj, finalizer):
            return finalizer
    return None


def gc_view(obj: Object) -> tuple[Any, ...]:
    """The parts of an object the garbage collector acts on; other changes are ignored."""
    meta = metadata(obj)
    return (meta.get("ownerReferences"), meta.get("deletionTimestamp"), meta.get("finalizers"))


def owner_state(owner: Object | None, *, uid: str, namespace: str) -> OwnerState:
    """The state of the owner ``uid`` expected in ``namespace`` (``""``: cluster-scoped),
    given the object found under its name or uid (``None``: not found)."""
    if owner is None or uid_of(owner) != uid:
        return OwnerState.ABSENT
    if str(metadata(owner).get("namespace") or "") != namespace:
        return OwnerState.ABSENT
    if is_deleting(owner) and has_finalizer(owner, FOREGROUND_FINALIZER):
        return OwnerState.DELETING_DEPENDENTS
    return OwnerState.PRESENT


def plan_dependent(states: Mapping[str, OwnerState]) -> DependentAction:
    """What to do with a dependent whose owners (by uid) are in ``states``."""
    if not states:
        return Keep()
    gone = frozenset(uid for uid, state in states.items() if state is not OwnerState.PRESENT)
    if len(gone) < len(states):
        return RemoveOwnerReferences(gone) if gone else Keep()
    waited_for = OwnerState.DELETING_DEPENDENTS in states.values()
    return Delete(FOREGROUND if waited_for else BACKGROUND)


def plan_foreground(owner_uid: str, dependents: Iterable[Object]) -> ForegroundPlan:
    """Which of an owner's ``dependents`` still block its foreground deletion."""
    blocking, to_delete = [], []
    for dependent in dependents:
        if blocks(dependent, owner_uid):
            blocking.append(uid_of(dependent))
        if not is_deleting(dependent):
            to_delete.append(uid_of(dependent))
    return ForegroundPlan(tuple(blocking), tuple(to_delete))


def blocks(dependent: Object, owner_uid: str) -> bool:
    return any(ref.get("blockOwnerDeletion") is True and ref["uid"] == owner_uid
               for ref in owner_references(dependent))


def owner_references_patch(obj: Object, remove: Collection[str]) -> JSONPatch:
    """A JSON patch dropping the references to the owners ``remove`` from ``obj``."""
    kept = [ref for ref in metadata(obj).get("ownerReferences") or []
            if ref.get("uid") not in remove]
    return _guarded(obj, "/metadata/ownerReferences", kept)


def finalizer_removal_patch(obj: Object, finalizer: str) -> JSONPatch:
    """A JSON patch dropping ``finalizer`` from ``obj``."""
    kept = [f for f in metadata(obj).get("finalizers") or [] if f != finalizer]
    return _guarded(obj, "/metadata/finalizers", kept)


def _guarded(obj: Object, path: str, value: list[Any]) -> JSONPatch:
    test = {"op": "test", "path": "/metadata/resourceVersion",
            "value": metadata(obj).get("resourceVersion")}
    change = {"op": "replace", "path": path, "value": value} if value else {
        "op": "remove", "path": path}
    return [test, change]
