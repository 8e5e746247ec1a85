"""Namespace deletion conditions, table-driven: reports → kube's condition types and texts."""

from __future__ import annotations

from typing import Any

import pytest

from steersman.controllers.namespace.conditions import (
    CONTENT_FAILURE,
    CONTENT_REMAINING,
    DISCOVERY_FAILURE,
    FINALIZERS_REMAINING,
    PARSING_FAILURE,
    Condition,
    ContentReport,
    deletion_conditions,
    merge_conditions,
)

Object = dict[str, Any]
ALL_TYPES = [DISCOVERY_FAILURE, PARSING_FAILURE, CONTENT_FAILURE, CONTENT_REMAINING,
             FINALIZERS_REMAINING]


@pytest.mark.parametrize(("report", "failing", "done"), [
    (ContentReport(), {}, True),
    (ContentReport(remaining={"configmaps.": 1, "widgets.example.com": 2, "secrets.": 0}),
     {CONTENT_REMAINING: ("SomeResourcesRemain", "Some resources are remaining: "
                          "configmaps. has 1 resource instances, widgets.example.com has 2 "
                          "resource instances")}, False),
    (ContentReport(remaining={"configmaps.": 1}, finalizers={"example.com/hold": 1}),
     {CONTENT_REMAINING: ("SomeResourcesRemain",
                          "Some resources are remaining: configmaps. has 1 resource instances"),
      FINALIZERS_REMAINING: ("SomeFinalizerRemain", "Some finalizers are remaining: "
                             "example.com/hold in 1 resource instances")}, False),
    (ContentReport(discovery_failures={"metrics.k8s.io/v1beta1": "503"}),
     {DISCOVERY_FAILURE: ("DiscoveryFailed", "Discovery failed for some groups, 1 failing: "
                          "unable to retrieve the complete list of server APIs: "
                          "metrics.k8s.io/v1beta1: 503")}, False),
    (ContentReport(delete_failures=("pods.: forbidden",)),
     {CONTENT_FAILURE: ("ContentDeletionFailed",
                        "Failed to delete all resource types, 1 remaining: pods.: forbidden")},
     False),
], ids=["empty", "content remains", "finalizers remain", "discovery failed", "delete failed"])
def test_deletion_conditions(report: ContentReport, failing: dict[str, tuple[str, str]],
                             done: bool) -> None:
    conditions = deletion_conditions(report)
    assert [c.type for c in conditions] == ALL_TYPES
    for condition in conditions:
        if condition.type in failing:
            assert (condition.status, condition.reason, condition.message) == (
                "True", *failing[condition.type])
        else:
            assert condition.status == "False"
    assert report.done is done


def test_merge_moves_transition_time_only_when_the_status_flips() -> None:
    existing: list[Object] = [
        {"type": "Other", "status": "True", "lastTransitionTime": "t0"},
        {"type": CONTENT_REMAINING, "status": "True", "reason": "SomeResourcesRemain",
         "message": "old", "lastTransitionTime": "t0"},
        {"type": DISCOVERY_FAILURE, "status": "False", "reason": "ResourcesDiscovered",
         "message": "All resources successfully discovered", "lastTransitionTime": "t0"},
    ]
    new = [Condition(CONTENT_REMAINING, "True", "SomeResourcesRemain", "new"),
           Condition(DISCOVERY_FAILURE, "True", "DiscoveryFailed", "x"),
           Condition(FINALIZERS_REMAINING, "False", "ContentRemoved", "done")]
    merged = {c["type"]: c for c in merge_conditions(existing, new, "t1")}
    assert merged["Other"] == existing[0]
    assert (merged[CONTENT_REMAINING]["message"],
            merged[CONTENT_REMAINING]["lastTransitionTime"]) == ("new", "t0")
    assert (merged[DISCOVERY_FAILURE]["status"],
            merged[DISCOVERY_FAILURE]["lastTransitionTime"]) == ("True", "t1")
    assert merged[FINALIZERS_REMAINING] == {
        "type": FINALIZERS_REMAINING, "status": "False", "lastTransitionTime": "t1",
        "reason": "ContentRemoved", "message": "done"}
    assert existing[1]["message"] == "old"


def test_merge_of_the_same_conditions_changes_nothing() -> None:
    conditions = deletion_conditions(ContentReport(remaining={"configmaps.": 1}))
    once = merge_conditions([], conditions, "t1")
    assert merge_conditions(once, conditions, "t2") == once
