"""Whether a Job is done and how many pods it wants: pure decisions of ``job_controller.go``.

:func:`verdict` decides the end: more failures than ``backoffLimit`` (for ``OnFailure``,
container restarts count) → ``BackoffLimitExceeded``; running longer than
``activeDeadlineSeconds`` → ``DeadlineExceeded``; enough successes (``completions``, every
index for Indexed Jobs, or — without ``completions`` — any success once nothing runs) →
``CompletionsReached``. A verdict is first recorded as the interim ``FailureTarget`` or
``SuccessCriteriaMet`` condition while the remaining pods are removed, then as the final
``Failed`` or ``Complete``. :func:`pod_changes` is the manage step: pods to create (or
indexes to create them for) and pods to delete, given ``parallelism``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from steersman.controllers.job.accounting import completion_index
from steersman.controllers.podstate import condition, created_at, is_ready

Object = dict[str, Any]
_MESSAGES = {
    "BackoffLimitExceeded": "Job has reached the specified backoff limit",
    "DeadlineExceeded": "Job was active longer than specified deadline",
    "CompletionsReached": "Job has reached the specified number of completions",
}


@dataclass(frozen=True)
class JobShape:
    completions: int | None
    parallelism: int
    backoff_limit: int
    active_deadline: int | None
    indexed: bool
    suspended: bool
    on_failure: bool

    @classmethod
    def of(cls, job: Mapping[str, Any]) -> JobShape:
        spec = job.get("spec") or {}
        completions, deadline = spec.get("completions"), spec.get("activeDeadlineSeconds")
        policy = ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy")
        return cls(completions=None if completions is None else int(completions),
                   parallelism=int(spec.get("parallelism", 1) or 0),
                   backoff_limit=int(spec.get("backoffLimit", 6)),
                   active_deadline=None if deadline is None else int(deadline),
                   indexed=spec.get("completionMode") == "Indexed",
                   suspended=spec.get("suspend") is True, on_failure=policy == "OnFailure")


@dataclass(frozen=True)
class Verdict:
    success: bool
    reason: str

    @property
    def interim(self) -> str:
        return "SuccessCriteriaMet" if self.success else "FailureTarget"

    @property
    def final(self) -> str:
        return "Complete" if self.success else "Failed"

    @property
    def message(self) -> str:
        return _MESSAGES.get(self.reason, self.reason)


@dataclass(frozen=True)
class Progress:
    """Counts after this pass's accounting, and the clock."""

    succeeded: int
    failed: int
    restarts: int
    active: int
    started: float | None
    now: float


def verdict(job: Mapping[str, Any], shape: JobShape, progress: Progress) -> Verdict | None:
    for interim, success in (("FailureTarget", False), ("SuccessCriteriaMet", True)):
        found = condition(job, interim)
        if found is not None and found.get("status") == "True":
            return Verdict(success, str(found.get("reason") or ""))
    if _past_backoff_limit(shape, progress):
        return Verdict(False, "BackoffLimitExceeded")
    if deadline_left(shape, progress) == 0.0:
        return Verdict(False, "DeadlineExceeded")
    if _succeeded(shape, progress):
        return Verdict(True, "CompletionsReached")
    return None


def _past_backoff_limit(shape: JobShape, progress: Progress) -> bool:
    if progress.failed > shape.backoff_limit:
        return True
    if not shape.on_failure or progress.restarts == 0:
        return False
    return progress.restarts >= max(shape.backoff_limit, 1)


def _succeeded(shape: JobShape, progress: Progress) -> bool:
    if shape.completions is None:
        return progress.succeeded > 0 and progress.active == 0
    return progress.succeeded >= shape.completions


def deadline_left(shape: JobShape, progress: Progress) -> float | None:
    """Seconds until ``activeDeadlineSeconds`` passes (0 once it has; None without one)."""
    if shape.active_deadline is None or progress.started is None or shape.suspended:
        return None
    return max(progress.started + shape.active_deadline - progress.now, 0.0)


@dataclass
class PodChanges:
    create: int = 0
    indexes: list[int] = field(default_factory=list)
    delete: list[Object] = field(default_factory=list)


def pod_changes(shape: JobShape, active: Sequence[Object], *, succeeded: int,
                completed: set[int]) -> PodChanges:
    if shape.suspended:
        return PodChanges(delete=list(active))
    if shape.indexed:
        return _indexed_changes(shape, active, completed)
    if shape.completions is None:
        want = shape.parallelism if succeeded == 0 else len(active)
    else:
        want = min(shape.parallelism, max(shape.completions - succeeded, 0))
    if len(active) < want:
        return PodChanges(create=want - len(active))
    return PodChanges(delete=deletion_order(active)[:len(active) - want])


def deletion_order(pods: Sequence[Object]) -> list[Object]:
    """Not-ready pods first, then the newest (``controller.ActivePods`` order, reversed)."""
    return sorted(pods, key=lambda p: (is_ready(p), -created_at(p)))


def _indexed_changes(shape: JobShape, active: Sequence[Object], completed: set[int]
                     ) -> PodChanges:
    changes, kept = PodChanges(), {}
    completions = shape.completions or 0
    for pod in sorted(active, key=lambda p: (not is_ready(p), created_at(p))):
        index = completion_index(pod)
        if index is None or index >= completions or index in completed or index in kept:
            changes.delete.append(pod)
        else:
            kept[index] = pod
    room = max(shape.parallelism - len(kept), 0)
    pending = [i for i in range(completions) if i not in completed and i not in kept]
    changes.indexes = pending[:room]
    return changes
