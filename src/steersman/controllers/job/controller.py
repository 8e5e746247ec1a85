"""The Job controller: run pods to ``completions``, count them once, finish with a reason.

Reconcile by Job key, from the caches: release the tracking finalizer of pods whose Job is
gone (or was replaced); count newly finished pods (:mod:`.accounting`, two phases); decide
whether the Job is done (:func:`~.decision.verdict`) — then delete what still runs and,
once nothing does, add ``Complete``/``Failed`` — or else create and delete pods towards
``parallelism`` (:func:`~.decision.pod_changes`), with upstream's exponential back-off
(10 s doubling, at most 6 min) after failures; and write ``status`` (active, ready,
terminating, succeeded, failed, startTime, completionTime, conditions). It asks to be
called again when ``activeDeadlineSeconds`` or the back-off runs out. Pod events only
enqueue the owning Job's key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable, Mapping
from typing import Any

from steersman.api.errors import StatusError
from steersman.api.meta import now_rfc3339, parse_time
from steersman.client import JOBS, OWNER_UID_INDEX, PODS, Client, Clock, by_owner_uid
from steersman.controllers.expectations import Expectations
from steersman.controllers.job.accounting import (
    PodTally,
    has_tracking_finalizer,
    parse_indexes,
    record_uncounted,
    restarts,
    tally,
)
from steersman.controllers.job.accounting import fold_uncounted as fold
from steersman.controllers.job.conditions import finished, with_condition
from steersman.controllers.job.decision import (
    JobShape,
    Progress,
    Verdict,
    deadline_left,
    pod_changes,
    verdict,
)
from steersman.controllers.job.pods import job_pod, without_tracking_finalizer
from steersman.controllers.podstate import (
    controlled_by,
    name_of,
    owned,
    owned_by_kind,
    uid_of,
)
from steersman.controllers.runtime import InformerFactory, QueueController, object_key

Object = dict[str, Any]
JOB_KEY_INDEX = "jobKey"


def by_job_key(pod: Object) -> list[str]:
    owner = owned_by_kind(pod, "Job")
    return [f"{(pod.get('metadata') or {}).get('namespace', '')}/{owner}"] if owner else []


class JobController(QueueController):
    name = "job"

    def __init__(self, client: Client, *, clock: Clock | None = None,
                 backoff_base: float = 10.0, backoff_cap: float = 360.0) -> None:
        super().__init__(client, clock=clock)
        self.expectations = Expectations(self.clock)
        self._backoff = (backoff_base, backoff_cap)
        self._failures: dict[str, tuple[int, float]] = {}

    def setup(self, factory: InformerFactory) -> None:
        self._jobs = factory.informer(JOBS)
        self._pods = factory.informer(PODS, indexers={OWNER_UID_INDEX: by_owner_uid,
                                                      JOB_KEY_INDEX: by_job_key})
        self._jobs.add_handlers(on_add=self.enqueue, on_update=lambda _, new: self.enqueue(new),
                                on_delete=self.enqueue)
        self._pods.add_handlers(on_add=self._pod_changed,
                                on_update=lambda _, new: self._pod_changed(new),
                                on_delete=self._pod_changed)

    def _pod_changed(self, pod: Object) -> None:
        for key in by_job_key(pod):
            self.queue.add(key)

    async def reconcile(self, key: str) -> float | None:
        job = self._jobs.indexer.get(key)
        tracked = [p for p in self._pods.indexer.by_index(JOB_KEY_INDEX, key)
                   if has_tracking_finalizer(p)]
        if job is None:
            self.expectations.forget(key)
            self._failures.pop(key, None)
            await self._release(tracked)
            return None
        await self._release(p for p in tracked if not controlled_by(p, job))
        if finished(job):
            await self._release(p for p in tracked if controlled_by(p, job))
            return None
        if not self.expectations.satisfied(key, self._pods.indexer.get):
            return None
        return await self._sync(key, job)

    async def _sync(self, key: str, job: Object) -> float | None:
        shape, now = JobShape.of(job), self.clock.now()
        pods = tally(owned(self._pods, job),
                     (job.get("status") or {}).get("uncountedTerminatedPods") or {},
                     suspended=shape.suspended)
        job = await self._count(job, pods, shape)
        self._note_failures(key, pods, now)
        status = _started(fold(job.get("status") or {}, indexed=shape.indexed), shape, now)
        progress = Progress(succeeded=int(status["succeeded"]), failed=int(status["failed"]),
                            restarts=restarts(pods.active), active=len(pods.active),
                            started=_time(status.get("startTime")), now=now)
        found = verdict(job, shape, progress)
        requeue: float | None = None
        if found is not None:
            await self._delete(key, pods.active)
            status = _concluded(status, found, pods, now)
        else:
            requeue = await self._manage(key, job, shape, pods, status, now)
            status = _suspension(status, shape, now)
            left = deadline_left(shape, progress)
            requeue = _earliest(requeue, None if left is None else left + 0.05)
        status.update(active=len(pods.active), ready=pods.ready, terminating=pods.terminating)
        if found is not None:
            status.update(active=0)
        await self._write_status(job, status)
        return requeue

    async def _count(self, job: Object, pods: PodTally, shape: JobShape) -> Object:
        """Phase 1 (record the newly finished) and the finalizer removal of phase 2."""
        if pods.new_succeeded or pods.new_failed:
            status = record_uncounted(job.get("status") or {}, pods, indexed=shape.indexed)
            job = await self.client.update_status(JOBS, {**job, "status": status})
        await self._release(pods.to_release)
        return job

    def _note_failures(self, key: str, pods: PodTally, now: float) -> None:
        if pods.new_succeeded:
            self._failures.pop(key, None)
        if pods.new_failed:
            count, _ = self._failures.get(key, (0, now))
            self._failures[key] = (count + len(pods.new_failed), now)

    def _creation_delay(self, key: str, now: float) -> float:
        count, since = self._failures.get(key, (0, now))
        if count == 0:
            return 0.0
        base, cap = self._backoff
        return max(min(base * 2.0 ** (count - 1), cap) - (now - since), 0.0)

    async def _manage(self, key: str, job: Object, shape: JobShape, pods: PodTally,
                      status: Object, now: float) -> float | None:
        completed = parse_indexes(str(status.get("completedIndexes") or ""))
        changes = pod_changes(shape, pods.active, succeeded=int(status["succeeded"]),
                              completed=completed)
        await self._delete(key, changes.delete)
        pods.active = [p for p in pods.active if p not in changes.delete]
        wanted = [job_pod(job, i) for i in changes.indexes] if shape.indexed else \
            [job_pod(job) for _ in range(changes.create)]
        if not wanted:
            return None
        delay = self._creation_delay(key, now)
        if delay > 0:
            return delay
        await _all(self._create(key, pod) for pod in wanted)
        pods.active.extend(wanted)
        return None

    async def _create(self, key: str, pod: Object) -> None:
        created = await self.client.create(PODS, pod)
        self.expectations.expect_created(key, object_key(created))

    async def _delete(self, key: str, pods: Iterable[Object]) -> None:
        async def delete(pod: Object) -> None:
            try:
                await self.client.delete(PODS, name_of(pod),
                                         namespace=pod["metadata"]["namespace"],
                                         preconditions={"uid": uid_of(pod)})
            except StatusError as err:
                if err.code not in (404, 409):
                    raise
                return
            self.expectations.expect_deleted(key, object_key(pod), uid_of(pod))

        await _all(delete(pod) for pod in pods)

    async def _release(self, pods: Iterable[Object]) -> None:
        async def release(pod: Object) -> None:
            metadata = pod["metadata"]
            patch = {"metadata": {"finalizers": without_tracking_finalizer(pod),
                                  "resourceVersion": metadata["resourceVersion"]}}
            try:
                await self.client.patch(PODS, name_of(pod), patch,
                                        namespace=metadata["namespace"])
            except StatusError as err:
                if err.code != 404:
                    raise

        await _all(release(pod) for pod in pods)

    async def _write_status(self, job: Object, status: Object) -> None:
        if status != job.get("status"):
            await self.client.update_status(JOBS, {**job, "status": status})


async def _all(calls: Iterable[Awaitable[None]]) -> None:
    results = await asyncio.gather(*calls, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


def _time(text: Any) -> float | None:
    return parse_time(str(text)).timestamp() if text else None


def _earliest(*delays: float | None) -> float | None:
    return min((d for d in delays if d is not None), default=None)


def _started(status: Object, shape: JobShape, now: float) -> Object:
    if not shape.suspended and not status.get("startTime"):
        status["startTime"] = now_rfc3339(now)
    return status


def _concluded(status: Object, found: Verdict, pods: PodTally, now: float) -> Object:
    status = with_condition(status, found.interim, reason=found.reason,
                            message=found.message, now=now)
    if pods.active or pods.terminating:
        return status
    status = with_condition(status, found.final, reason=found.reason, message=found.message,
                            now=now)
    if found.success:
        status["completionTime"] = now_rfc3339(now)
    return status


def _suspension(status: Object, shape: JobShape, now: float) -> Object:
    conditions: Iterable[Mapping[str, Any]] = status.get("conditions") or ()
    was_suspended = any(c.get("type") == "Suspended" and c.get("status") == "True"
                        for c in conditions)
    if shape.suspended and not was_suspended:
        return with_condition(status, "Suspended", reason="JobSuspended",
                              message="Job suspended", now=now)
    if was_suspended and not shape.suspended:
        status = with_condition(status, "Suspended", reason="JobResumed",
                                message="Job resumed", now=now, value="False")
        status["startTime"] = now_rfc3339(now)
    return status
