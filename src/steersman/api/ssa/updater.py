"""The two field-ownership operations: apply and update (structured-merge-diff ``merge.Updater``).

:func:`apply` merges an applied configuration into the live object, removes the fields its
manager applied last time and no longer applies (unless some manager still owns them),
and fails with :class:`ApplyConflicts` when the result changes a field another manager
owns — unless forced, in which case the other managers lose those fields. The applier then
owns exactly what it applied.

:func:`update` records a non-apply write: its manager gains every field the write changed
or added, and every other manager (applier or not) loses them: an update never conflicts,
it takes ownership. Fields the write removed leave every manager. A create (nothing live,
nobody owning anything) owns whatever the endpoint lets it own; that set is remembered by
the exact JSON of the object less its server-set metadata, so the pods of one template
share one computation (:mod:`steersman.api.exactjson`).

Both take a ``FieldFilter`` (an ``EndpointFields``) that drops the fields no manager
may own through the endpoint (server-set metadata, the other half of a status split).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from steersman.api.exactjson import Remembered, json_key
from steersman.api.ssa.fieldpath import FieldSet, Path, path_string
from steersman.api.ssa.managed import EndpointFields, ManagedSet, ManagerKey, Managers, owned_part
from steersman.api.ssa.merge import merge, remove_fields
from steersman.api.ssa.typeinfo import TypeNode
from steersman.api.ssa.walk import Comparison, FieldFilter, compare, field_set, with_named_fields

Object = dict[str, Any]
# What creates own, by the exact JSON of the created object's owned part: the objects of one
# template (a ReplicaSet's pods) differ only in the metadata no manager owns.
_created: Remembered[tuple[TypeNode, EndpointFields, bytes], FieldSet] = Remembered(512)


@dataclass(frozen=True, slots=True)
class Conflict:
    manager: ManagerKey
    path: Path

    def field(self) -> str:
        return path_string(self.path)


class ApplyConflicts(Exception):
    """An apply would change fields other managers own (kube-apiserver answers 409)."""

    def __init__(self, conflicts: list[Conflict]) -> None:
        self.conflicts = conflicts
        super().__init__(conflict_message(conflicts))


def conflict_message(conflicts: list[Conflict]) -> str:
    if len(conflicts) == 1:
        only = conflicts[0]
        return (f"Apply failed with 1 conflict: conflict with {only.manager.describe()}: "
                f"{only.field()}")
    lines: list[str] = []
    for manager in sorted({c.manager for c in conflicts}, key=lambda k: k.describe()):
        lines.append(f"conflicts with {manager.describe()}:")
        lines.extend(f"- {c.field()}" for c in conflicts if c.manager == manager)
    return f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Applied:
    obj: Object
    managers: Managers
    changed: bool


def apply(*, live: Object, config: Object, managers: Managers, manager: ManagerKey,
          api_version: str, force: bool, root: TypeNode, keep: FieldFilter,
          now: str) -> Applied:
    """``config`` applied to ``live`` by ``manager``; raises :class:`ApplyConflicts`."""
    applied = keep(field_set(config, root))
    after: Managers = dict(managers)
    after[manager] = ManagedSet(applied, api_version, now)
    merged: Object = merge(live, config, root)
    previous = managers.get(manager)
    if previous is not None:
        merged = _prune(merged, previous.fields, after, root)
    comparison = compare(live, merged, root).filtered(keep)
    conflicts = _conflicts(after, manager, comparison.changed())
    if conflicts and not force:
        raise ApplyConflicts(conflicts)
    after = _release(after, manager, comparison)
    changed = merged != live or previous is None or previous.fields != applied
    if not changed:
        after[manager] = previous if previous is not None else after[manager]
    return Applied(merged, after, changed)


def _prune(merged: Object, last: FieldSet, managers: Managers, root: TypeNode) -> Object:
    """Remove what the applier owned before, applies no longer, and nobody else owns."""
    owned = FieldSet()
    for managed in managers.values():
        owned = owned.union(managed.fields)
    present = with_named_fields(field_set(merged, root), root)
    dropped = with_named_fields(last, root).difference(with_named_fields(owned, root))
    pruned: Object = remove_fields(merged, dropped.intersection(present), root)
    return pruned


def _conflicts(managers: Managers, manager: ManagerKey, changed: FieldSet) -> list[Conflict]:
    conflicts: list[Conflict] = []
    for key in sorted(managers):
        if key != manager:
            overlap = managers[key].fields.intersection(changed)
            conflicts.extend(Conflict(key, path) for path in overlap.paths())
    return conflicts


def _release(managers: Managers, manager: ManagerKey | None,
             comparison: Comparison, changed: FieldSet | None = None) -> Managers:
    """Managers other than ``manager`` lose the fields this write changed (``changed``, when
    the caller has it already) or removed."""
    taken = (comparison.changed() if changed is None else changed).union(comparison.removed)
    out: Managers = {}
    for key, managed in managers.items():
        fields = managed.fields if key == manager else managed.fields.difference(taken)
        if not fields.empty():
            out[key] = ManagedSet(fields, managed.api_version, managed.time)
    return out


def update(*, old: Object, new: Object, managers: Managers, manager: ManagerKey,
           api_version: str, root: TypeNode, keep: FieldFilter, now: str) -> Managers:
    """Ownership after a non-apply write from ``old`` to ``new`` by ``manager``."""
    if not old and not managers:  # a create: the writer owns whatever it may own, alone
        created = _created_fields(new, root, keep)
        return {manager: ManagedSet(created, api_version, now)} if not created.empty() else {}
    comparison = compare(old, new, root).filtered(keep)
    changed = comparison.changed()
    after = _release(managers, None, comparison, changed)
    if changed.empty():
        return after
    own = after.get(manager)
    fields = changed if own is None else own.fields.union(changed)
    before = managers.get(manager)
    if before is not None and fields == before.fields:
        fields = before.fields  # a renewal: the same set, encoded and handed out once
    after[manager] = ManagedSet(fields, api_version, now)
    return after


def _created_fields(new: Object, root: TypeNode, keep: FieldFilter) -> FieldSet:
    """``update``'s changed fields for a create, remembered for objects with equal owned parts
    (only with :class:`EndpointFields`, whose stripped metadata :func:`owned_part` knows)."""
    if not isinstance(keep, EndpointFields) or (key := json_key(owned_part(new))) is None:
        return compare({}, new, root).filtered(keep).changed()
    found = _created.get((root, keep, key))
    if found is None:
        found = _created.put((root, keep, key), compare({}, new, root).filtered(keep).changed())
    elif not found.keeps_encoding():
        found.keep_encoding()  # seen twice: worth encoding once rather than on every write
    return found
