"""``metadata.managedFields``: who owns which fields, decoded and encoded as upstream.

An entry is identified by manager name, operation (``Apply`` or ``Update``), subresource
and, for ``Update`` only, the API version (an applier keeps one entry across versions), as
kube-apiserver's ``BuildManagerIdentifier``. Encoding drops empty entries and sorts the
rest by operation, time, manager, apiVersion and subresource (``sortEncodedManagedFields``).
Update entries beyond :data:`MAX_UPDATE_MANAGERS` are merged, oldest first, into an
``ancient-changes`` entry per API version (``capmanagers.go``).

`EndpointFields` says which fields a write may own at all: never the metadata the
server sets (``stripmeta.go``), nor ``apiVersion``/``kind``; through the main resource not
``status`` when the kind has a status subresource, through ``/status`` only ``status``
(and the labels and annotations that endpoint accepts): the strategies' reset fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from steersman.api.ssa.fieldpath import FieldSet

APPLY = "Apply"
UPDATE = "Update"
MAX_UPDATE_MANAGERS = 10
ANCIENT_CHANGES = "ancient-changes"
_STRIPPED_META = ("name", "namespace", "creationTimestamp", "selfLink", "uid", "clusterName",
                  "generation", "managedFields", "resourceVersion", "deletionTimestamp",
                  "deletionGracePeriodSeconds")


class InvalidManagedFields(ValueError):
    """A ``managedFields`` value that cannot be decoded."""


@dataclass(frozen=True, slots=True, order=True)
class ManagerKey:
    manager: str
    operation: str
    api_version: str = ""
    subresource: str = ""

    @classmethod
    def of(cls, manager: str, operation: str, api_version: str,
           subresource: str = "") -> ManagerKey:
        return cls(manager, operation, "" if operation == APPLY else api_version, subresource)

    def describe(self) -> str:
        """How conflict messages name a manager: ``"kubectl" using apps/v1``."""
        text = f'"{self.manager}"'
        if self.subresource:
            text += f' with subresource "{self.subresource}"'
        if self.operation == UPDATE:
            text += f" using {self.api_version}"
        return text


@dataclass(frozen=True, slots=True)
class ManagedSet:
    fields: FieldSet
    api_version: str
    time: str | None = None


Managers = dict[ManagerKey, ManagedSet]


def decode(entries: Any) -> Managers:
    """``metadata.managedFields`` as managers; raises :class:`InvalidManagedFields`."""
    if entries is None:
        return {}
    if not isinstance(entries, list):
        raise InvalidManagedFields("managedFields must be a list")
    managers: Managers = {}
    for entry in entries:
        key, managed = _decode_entry(entry)
        if key in managers:
            raise InvalidManagedFields(f"duplicate manager entry {key.manager!r}")
        managers[key] = managed
    return managers


def _decode_entry(entry: Any) -> tuple[ManagerKey, ManagedSet]:
    if not isinstance(entry, dict):
        raise InvalidManagedFields("a managedFields entry must be an object")
    operation = entry.get("operation")
    if operation not in (APPLY, UPDATE):
        raise InvalidManagedFields(f"unknown operation {operation!r}")
    if entry.get("fieldsType") != "FieldsV1":
        raise InvalidManagedFields(f"unknown fieldsType {entry.get('fieldsType')!r}")
    try:
        fields = FieldSet.from_fields_v1(entry.get("fieldsV1") or {})
    except ValueError as exc:
        raise InvalidManagedFields(str(exc)) from exc
    api_version = str(entry.get("apiVersion") or "")
    key = ManagerKey.of(str(entry.get("manager") or ""), operation, api_version,
                        str(entry.get("subresource") or ""))
    time = entry.get("time")
    return key, ManagedSet(fields, api_version, str(time) if time else None)


def encode(managers: Mapping[ManagerKey, ManagedSet]) -> list[dict[str, Any]]:
    entries = [_encode_entry(key, managed) for key, managed in managers.items()
               if not managed.fields.empty()]
    entries.sort(key=lambda e: (e["operation"], e.get("time") or "", e["manager"],
                                e["apiVersion"], e.get("subresource", "")))
    return entries


def _encode_entry(key: ManagerKey, managed: ManagedSet) -> dict[str, Any]:
    entry: dict[str, Any] = {"manager": key.manager, "operation": key.operation,
                             "apiVersion": managed.api_version}
    if managed.time:
        entry["time"] = managed.time
    entry["fieldsType"] = "FieldsV1"
    entry["fieldsV1"] = managed.fields.to_fields_v1()
    if key.subresource:
        entry["subresource"] = key.subresource
    return entry


def cap_update_managers(managers: Managers, limit: int = MAX_UPDATE_MANAGERS) -> Managers:
    """Merge the oldest Update entries into ``ancient-changes`` until at most ``limit`` remain."""
    if len(managers) <= limit:
        return managers  # the usual object: too few entries to merge any
    updaters = sorted((k for k in managers if k.operation == UPDATE),
                      key=lambda k: (managers[k].time or "", k.manager))
    out = dict(managers)
    excess = len(updaters) - limit
    first_by_version: dict[str, ManagerKey] = {}
    for key in updaters:
        if excess <= 0:
            break
        managed = out[key]
        bucket = ManagerKey.of(ANCIENT_CHANGES, UPDATE, managed.api_version)
        first = first_by_version.setdefault(managed.api_version, key)
        if first == key:
            continue
        if bucket not in out:
            out[bucket] = out.pop(first)
        merged = out[bucket].fields.union(managed.fields)
        out[bucket] = ManagedSet(merged, managed.api_version, managed.time)
        del out[key]
        excess -= 1
    return out


@dataclass(frozen=True, slots=True)
class EndpointFields:
    """Which fields a write through one endpoint may own.

    ``reset`` paths are dropped with everything below them; when ``only`` is set, nothing
    outside its member paths (and what lies below them) is kept.
    """

    reset: FieldSet
    only: FieldSet | None = None

    @classmethod
    def for_endpoint(cls, *, subresource: str, has_status: bool) -> EndpointFields:
        if subresource == "status":
            return _FOR_STATUS
        return _FOR_MAIN_WITH_STATUS if has_status else _FOR_MAIN

    def __call__(self, fields: FieldSet) -> FieldSet:
        kept = fields.difference(_STRIP).recursive_difference(self.reset)
        return kept if self.only is None else _within(kept, self.only)


def owned_part(obj: Any) -> Any:
    """``obj`` less the server-set metadata scalars (``name``, ``uid``, …): every
    :class:`EndpointFields` drops the fields they are, so two objects that differ only there
    leave the same fields to own through every endpoint."""
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    if not isinstance(meta, dict):
        return obj
    kept = {name: value for name, value in meta.items()
            if name not in _STRIPPED_META or (isinstance(value, (dict, list)) and value)}
    return {**obj, "metadata": kept}


def _within(fields: FieldSet, allowed: FieldSet) -> FieldSet:
    children: dict[str, FieldSet] = {}
    for element, child in fields.children().items():
        if element in allowed.members:
            children[element] = child
        elif (below := allowed.child(element)) is not None:
            children[element] = _within(child, below)
    return FieldSet(fields.members & allowed.members, children)


_STRIP = FieldSet({"f:apiVersion", "f:kind", "f:metadata"},
                  {"f:metadata": FieldSet({f"f:{name}" for name in _STRIPPED_META})})
_STATUS_ENDPOINT = FieldSet({"f:status"},
                            {"f:metadata": FieldSet({"f:labels", "f:annotations"})})
# The three filters, made once: every write asks for one.
_FOR_STATUS = EndpointFields(FieldSet(), _STATUS_ENDPOINT)
_FOR_MAIN_WITH_STATUS = EndpointFields(FieldSet({"f:status"}))
_FOR_MAIN = EndpointFields(FieldSet())
