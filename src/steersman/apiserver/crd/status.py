"""A CustomResourceDefinition's ``status``: accepted names and conditions, as kube writes them.

``NamesAccepted`` (``NoConflicts`` / ``PluralConflict``, ``KindConflict``, …), ``Established``
(``InitialNamesAccepted`` once the names are accepted; ``NotAccepted`` before) and
``Terminating`` (``InstanceDeletionPending`` → ``InstanceDeletionInProgress`` →
``InstanceDeletionCompleted``), with the messages of apiextensions-apiserver's naming,
establishing and finalizer controllers. A condition's ``lastTransitionTime`` changes only
when its status does. Pure functions on plain dicts.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from steersman.api.custom_resources import crd_spec

Object = dict[str, Any]
CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
_NAME_KEYS = ("plural", "singular", "shortNames", "kind", "listKind", "categories")


@dataclass(frozen=True, slots=True)
class Conflict:
    """Why NamesAccepted is False: kube's reason and message."""

    reason: str
    message: str
    names: frozenset[str] = frozenset()


def names_status(crd: Object, conflict: Conflict | None, now: str) -> Object:
    """The status the naming and establishing controllers want for ``crd`` (a new dict)."""
    out = copy.deepcopy(crd.get("status") or {})
    holder: Object = {"status": out}
    out["acceptedNames"] = _accepted_names(crd_spec(crd).get("names") or {},
                                           out.get("acceptedNames") or {},
                                           conflict.names if conflict else frozenset())
    if conflict is None:
        set_condition(holder, "NamesAccepted", "True", "NoConflicts", "no conflicts found", now)
        set_condition(holder, "Established", "True", "InitialNamesAccepted",
                      "the initial names have been accepted", now)
    else:
        set_condition(holder, "NamesAccepted", "False", conflict.reason, conflict.message, now)
        if not _is_true(out, "Established"):
            set_condition(holder, "Established", "False", "NotAccepted",
                          "not all names are accepted", now)
    out.setdefault("storedVersions", [])
    return out


def _accepted_names(requested: Object, previous: Object, refused: frozenset[str]) -> Object:
    """The requested names, except refused ones, which keep what was accepted before."""
    out: Object = {}
    for key in _NAME_KEYS:
        value = previous.get(key) if key in refused else requested.get(key)
        if value:
            out[key] = copy.deepcopy(value)
    out.setdefault("plural", "")
    out.setdefault("kind", "")
    return out


def _is_true(status: Object, kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True"
               for c in status.get("conditions") or ())


def set_condition(obj: Object, kind: str, status: str, reason: str, message: str,
                  now: str) -> None:
    """Set one condition of ``obj["status"]``, keeping its transition time if unchanged."""
    conditions = obj.setdefault("status", {}).setdefault("conditions", [])
    wanted = {"type": kind, "status": status, "lastTransitionTime": now, "reason": reason,
              "message": message}
    for index, condition in enumerate(conditions):
        if condition.get("type") == kind:
            if condition.get("status") == status:
                wanted["lastTransitionTime"] = condition.get("lastTransitionTime", now)
            conditions[index] = wanted
            return
    conditions.append(wanted)


def is_terminating(crd: Object | None) -> bool:
    return crd is not None and bool(crd["metadata"].get("deletionTimestamp"))
