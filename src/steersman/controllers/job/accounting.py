"""Counting a Job's pods exactly once: the ``batch.kubernetes.io/job-tracking`` finalizer.

Every pod a Job creates carries the tracking finalizer, so it cannot vanish before it is
counted. A pod is *finished* when it is Succeeded or Failed, or (unless the Job is
suspended) when it is being deleted before it finished, which counts as a failure. Counting
is two-phase, as ``job_controller.go``'s ``trackJobStatusAndRemoveFinalizers``:

1. the uids of newly finished pods are recorded in ``status.uncountedTerminatedPods`` (and,
   for Indexed Jobs, their indexes in ``status.completedIndexes``), then
2. their finalizers are removed, and the uncounted uids are folded into ``status.succeeded``
   and ``status.failed``.

A crash between the two leaves the uids recorded, so nothing is counted twice or lost.
Pure functions; :mod:`.controller` does the writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from steersman.controllers.podstate import is_active, is_ready, is_terminating, phase, uid_of

Object = dict[str, Any]
TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"


def has_tracking_finalizer(pod: Mapping[str, Any]) -> bool:
    return TRACKING_FINALIZER in ((pod.get("metadata") or {}).get("finalizers") or ())


def completion_index(pod: Mapping[str, Any]) -> int | None:
    metadata = pod.get("metadata") or {}
    text = (metadata.get("annotations") or {}).get(COMPLETION_INDEX) or \
        (metadata.get("labels") or {}).get(COMPLETION_INDEX)
    return int(text) if isinstance(text, str) and text.isdigit() else None


@dataclass
class PodTally:
    """A Job's pods sorted by what the controller must do with them."""

    active: list[Object] = field(default_factory=list)
    ready: int = 0
    terminating: int = 0
    new_succeeded: list[Object] = field(default_factory=list)
    new_failed: list[Object] = field(default_factory=list)
    to_release: list[Object] = field(default_factory=list)


def tally(pods: Iterable[Object], uncounted: Mapping[str, Any], *, suspended: bool) -> PodTally:
    seen = set(uncounted.get("succeeded") or ()) | set(uncounted.get("failed") or ())
    result = PodTally()
    for pod in pods:
        if is_active(pod):
            result.active.append(pod)
            result.ready += is_ready(pod)
            continue
        outcome = _outcome(pod, suspended=suspended)
        result.terminating += phase(pod) not in ("Succeeded", "Failed")
        if not has_tracking_finalizer(pod):
            continue
        result.to_release.append(pod)
        if uid_of(pod) in seen or outcome == "":
            continue
        (result.new_succeeded if outcome == "Succeeded" else result.new_failed).append(pod)
    return result


def _outcome(pod: Object, *, suspended: bool) -> str:
    """``Succeeded``/``Failed`` for a finished pod; ``""`` for one leaving uncounted."""
    if phase(pod) in ("Succeeded", "Failed"):
        return phase(pod)
    if is_terminating(pod) and not suspended:
        return "Failed"
    return ""


def record_uncounted(status: Mapping[str, Any], pods: PodTally, *, indexed: bool) -> Object:
    """Phase 1: the status with the newly finished pods' uids (and indexes) recorded."""
    new = dict(status)
    uncounted = dict(status.get("uncountedTerminatedPods") or {})
    for key, finished in (("succeeded", pods.new_succeeded), ("failed", pods.new_failed)):
        if finished:
            uncounted[key] = [*(uncounted.get(key) or []), *(uid_of(p) for p in finished)]
    new["uncountedTerminatedPods"] = uncounted
    if indexed:
        done = parse_indexes(str(status.get("completedIndexes") or ""))
        done |= {i for i in map(completion_index, pods.new_succeeded) if i is not None}
        new["completedIndexes"] = format_indexes(done)
    return new


def fold_uncounted(status: Mapping[str, Any], *, indexed: bool) -> Object:
    """Phase 2 (after the finalizers are gone): uncounted uids become counts."""
    new = dict(status)
    uncounted = status.get("uncountedTerminatedPods") or {}
    succeeded = int(status.get("succeeded") or 0) + len(uncounted.get("succeeded") or ())
    if indexed:
        succeeded = len(parse_indexes(str(status.get("completedIndexes") or "")))
    new["succeeded"] = succeeded
    new["failed"] = int(status.get("failed") or 0) + len(uncounted.get("failed") or ())
    new["uncountedTerminatedPods"] = {}
    return new


def parse_indexes(text: str) -> set[int]:
    """``"1,3-5"`` → ``{1, 3, 4, 5}``."""
    indexes: set[int] = set()
    for part in filter(None, text.split(",")):
        low, _, high = part.partition("-")
        indexes.update(range(int(low), int(high or low) + 1))
    return indexes


def format_indexes(indexes: Iterable[int]) -> str:
    """``{1, 3, 4, 5}`` → ``"1,3-5"`` (``status.completedIndexes``)."""
    runs: list[list[int]] = []
    for index in sorted(set(indexes)):
        if runs and runs[-1][1] == index - 1:
            runs[-1][1] = index
        else:
            runs.append([index, index])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def restarts(pods: Iterable[Object]) -> int:
    """Container restarts of the given pods (``OnFailure`` Jobs count these as failures)."""
    total = 0
    for pod in pods:
        status = pod.get("status") or {}
        for key in ("initContainerStatuses", "containerStatuses"):
            total += sum(int(c.get("restartCount") or 0) for c in status.get(key) or ())
    return total
