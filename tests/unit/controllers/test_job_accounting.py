"""Job pod accounting (each finished pod counted once), verdicts and pod changes."""

from __future__ import annotations

from typing import Any

import pytest

from steersman.controllers.job.accounting import (
    TRACKING_FINALIZER,
    fold_uncounted,
    format_indexes,
    parse_indexes,
    record_uncounted,
    tally,
)
from steersman.controllers.job.decision import (
    JobShape,
    Progress,
    deadline_left,
    pod_changes,
    verdict,
)
from steersman.controllers.job.pods import job_pod

Object = dict[str, Any]


def pod(name: str, phase: str = "Running", *, tracked: bool = True, deleting: bool = False,
        ready: bool = False, index: int | None = None) -> Object:
    meta: Object = {"name": name, "uid": name, "finalizers": [TRACKING_FINALIZER] if tracked
                    else [], "creationTimestamp": "2024-01-01T00:00:00Z"}
    if deleting:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    if index is not None:
        meta["annotations"] = {"batch.kubernetes.io/job-completion-index": str(index)}
    return {"metadata": meta, "status": {"phase": phase, "conditions": [
        {"type": "Ready", "status": "True" if ready else "False"}]}}


@pytest.mark.parametrize(("pods", "uncounted", "suspended", "expected"), [
    ([pod("a"), pod("b", ready=True)], {}, False, (2, 1, 0, [], [], [])),
    ([pod("s", "Succeeded"), pod("f", "Failed")], {}, False, (0, 0, 0, ["s"], ["f"], ["s", "f"])),
    ([pod("s", "Succeeded")], {"succeeded": ["s"]}, False, (0, 0, 0, [], [], ["s"])),
    ([pod("s", "Succeeded", tracked=False)], {}, False, (0, 0, 0, [], [], [])),
    ([pod("d", deleting=True)], {}, False, (0, 0, 1, [], ["d"], ["d"])),
    ([pod("d", deleting=True)], {}, True, (0, 0, 1, [], [], ["d"])),
])
def test_tally(pods: list[Object], uncounted: Object, suspended: bool,
               expected: tuple[int, int, int, list[str], list[str], list[str]]) -> None:
    result = tally(pods, uncounted, suspended=suspended)
    names = [[p["metadata"]["name"] for p in group] for group in
             (result.new_succeeded, result.new_failed, result.to_release)]
    assert (len(result.active), result.ready, result.terminating, *names) == expected


def test_two_phase_counting_counts_each_pod_once() -> None:
    pods = [pod("s1", "Succeeded", index=0), pod("s2", "Succeeded", index=2),
            pod("f", "Failed")]
    status: Object = {"succeeded": 1, "failed": 1, "completedIndexes": "1"}
    recorded = record_uncounted(status, tally(pods, {}, suspended=False), indexed=True)
    assert recorded["uncountedTerminatedPods"] == {"succeeded": ["s1", "s2"], "failed": ["f"]}
    assert recorded["completedIndexes"] == "0-2"
    again = tally(pods, recorded["uncountedTerminatedPods"], suspended=False)
    assert again.new_succeeded == again.new_failed == []
    folded = fold_uncounted(recorded, indexed=True)
    assert (folded["succeeded"], folded["failed"], folded["uncountedTerminatedPods"]) == \
        (3, 2, {})
    assert fold_uncounted(recorded, indexed=False)["succeeded"] == 3


@pytest.mark.parametrize(("text", "indexes"), [
    ("", set()), ("3", {3}), ("0-2,5,7-8", {0, 1, 2, 5, 7, 8})])
def test_completed_indexes_round_trip(text: str, indexes: set[int]) -> None:
    assert parse_indexes(text) == indexes
    assert format_indexes(indexes) == text


def shape(**overrides: Any) -> JobShape:
    values: dict[str, Any] = {"completions": 3, "parallelism": 2, "backoff_limit": 1,
                              "active_deadline": None, "indexed": False, "suspended": False,
                              "on_failure": False}
    return JobShape(**{**values, **overrides})


def progress(succeeded: int = 0, failed: int = 0, active: int = 0, restarts: int = 0,
             started: float | None = 100.0, now: float = 100.0) -> Progress:
    return Progress(succeeded, failed, restarts, active, started, now)


@pytest.mark.parametrize(("job_shape", "state", "expected"), [
    (shape(), progress(succeeded=2, active=1), None),
    (shape(), progress(succeeded=3), ("CompletionsReached", True)),
    (shape(), progress(failed=1), None),
    (shape(), progress(failed=2), ("BackoffLimitExceeded", False)),
    (shape(on_failure=True), progress(restarts=1), ("BackoffLimitExceeded", False)),
    (shape(on_failure=True, backoff_limit=3), progress(restarts=2), None),
    (shape(active_deadline=2), progress(now=101.0), None),
    (shape(active_deadline=2), progress(now=102.0), ("DeadlineExceeded", False)),
    (shape(completions=None), progress(succeeded=1, active=1), None),
    (shape(completions=None), progress(succeeded=1), ("CompletionsReached", True)),
])
def test_verdict(job_shape: JobShape, state: Progress, expected: tuple[str, bool] | None
                 ) -> None:
    found = verdict({}, job_shape, state)
    assert (None if found is None else (found.reason, found.success)) == expected


def test_interim_condition_is_sticky() -> None:
    job = {"status": {"conditions": [{"type": "FailureTarget", "status": "True",
                                      "reason": "DeadlineExceeded"}]}}
    found = verdict(job, shape(), progress(succeeded=3))
    assert found is not None and (found.reason, found.final) == ("DeadlineExceeded", "Failed")
    assert deadline_left(shape(active_deadline=5), progress(now=102.0)) == 3.0


@pytest.mark.parametrize(("job_shape", "active", "succeeded", "creates", "deletes"), [
    (shape(), [], 0, 2, 0),
    (shape(), [pod("a")], 2, 0, 0),
    (shape(), [pod("a"), pod("b")], 2, 0, 1),
    (shape(completions=None), [], 0, 2, 0),
    (shape(completions=None), [pod("a")], 1, 0, 0),
    (shape(suspended=True), [pod("a"), pod("b")], 0, 0, 2),
])
def test_pod_changes(job_shape: JobShape, active: list[Object], succeeded: int, creates: int,
                     deletes: int) -> None:
    changes = pod_changes(job_shape, active, succeeded=succeeded, completed=set())
    assert (changes.create, len(changes.delete)) == (creates, deletes)


def test_indexed_pod_changes_fill_missing_indexes_and_drop_duplicates() -> None:
    indexed = shape(indexed=True, completions=4, parallelism=3)
    active = [pod("a", index=1, ready=True), pod("b", index=1), pod("c", index=0)]
    changes = pod_changes(indexed, active, succeeded=0, completed={0})
    assert sorted(p["metadata"]["name"] for p in changes.delete) == ["b", "c"]
    assert changes.indexes == [2, 3]


def test_indexed_job_pod() -> None:
    job = {"metadata": {"name": "j", "namespace": "ns", "uid": "u"},
           "spec": {"template": {"metadata": {"labels": {"a": "b"}},
                                 "spec": {"containers": [{"name": "c"}]}}}}
    made = job_pod(job, 2)
    assert made["metadata"]["generateName"] == "j-2-"
    assert made["metadata"]["finalizers"] == [TRACKING_FINALIZER]
    assert made["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"] == "2"
    assert made["spec"]["hostname"] == "j-2"
    assert made["spec"]["containers"][0]["env"][0]["name"] == "JOB_COMPLETION_INDEX"
    assert job_pod(job)["metadata"]["generateName"] == "j-"
