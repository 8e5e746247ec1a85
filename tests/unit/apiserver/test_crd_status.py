"""A CRD's status as the naming and establishing controllers write it."""

from __future__ import annotations

from typing import Any

from steersman.apiserver.crd.status import Conflict, names_status, set_condition

NAMES = {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList",
         "shortNames": ["wd"]}


def crd(status: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "names": NAMES}, "status": status or {}}


def conditions(status: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}


def test_accepted_and_established() -> None:
    status = names_status(crd({"storedVersions": ["v1"]}), None, "T1")
    assert status["acceptedNames"] == NAMES
    assert conditions(status) == {"NamesAccepted": ("True", "NoConflicts"),
                                  "Established": ("True", "InitialNamesAccepted")}
    assert status["storedVersions"] == ["v1"]
    again = names_status(crd(status), None, "T2")
    assert again == status


def test_conflict_keeps_other_names_and_refuses_the_taken_ones() -> None:
    conflict = Conflict("KindConflict", '"Widget" is already in use',
                        frozenset({"kind", "listKind"}))
    status = names_status(crd(), conflict, "T1")
    assert status["acceptedNames"] == {"plural": "widgets", "singular": "widget",
                                       "shortNames": ["wd"], "kind": ""}
    assert conditions(status) == {"NamesAccepted": ("False", "KindConflict"),
                                  "Established": ("False", "NotAccepted")}


def test_transition_time_changes_only_with_status() -> None:
    obj: dict[str, Any] = {}
    set_condition(obj, "Terminating", "True", "A", "a", "T1")
    set_condition(obj, "Terminating", "True", "B", "b", "T2")
    assert obj["status"]["conditions"][0]["lastTransitionTime"] == "T1"
    set_condition(obj, "Terminating", "False", "C", "c", "T3")
    assert obj["status"]["conditions"] == [{"type": "Terminating", "status": "False",
                                            "lastTransitionTime": "T3", "reason": "C",
                                            "message": "c"}]
