"""The CronJob controller: a Job per fire time, within the concurrency policy.

Reconcile by CronJob key: bring ``status.active`` in line with the CronJob's unfinished
Jobs and ``lastSuccessfulTime`` with its completed ones; delete finished Jobs beyond the
history limits; then, unless suspended or being deleted, find the most recent fire time not
yet acted on (:func:`~.plan.most_recent_schedule`). If it is not too late
(``startingDeadlineSeconds``) and no Job exists for it, honour ``concurrencyPolicy``
(``Forbid``: skip while one runs; ``Replace``: delete the running ones first) and create
``<cronjob>-<minutes since epoch>``; record ``lastScheduleTime``. The reconcile asks to be
called again just after the next fire time; time comes from the injected clock. Job events
only enqueue the owning CronJob's key.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from steersman.api.errors import StatusError
from steersman.api.meta import format_time
from steersman.client import CRONJOBS, JOBS, OWNER_UID_INDEX, Client, Clock, by_owner_uid
from steersman.controllers.cronjob.plan import (
    earliest_time,
    job_for,
    job_name,
    job_reference,
    jobs_to_prune,
    last_successful_time,
    most_recent_schedule,
    too_late,
)
from steersman.controllers.cronjob.schedule import Schedule, ScheduleError, parse_schedule
from steersman.controllers.job.conditions import finished
from steersman.controllers.podstate import is_terminating, name_of, owned, owned_by_kind, uid_of
from steersman.controllers.runtime import InformerFactory, QueueController

log = logging.getLogger(__name__)
Object = dict[str, Any]
_AFTER_FIRE_TIME = 0.1


class CronJobController(QueueController):
    name = "cronjob"

    def __init__(self, client: Client, *, clock: Clock | None = None) -> None:
        super().__init__(client, clock=clock)

    def setup(self, factory: InformerFactory) -> None:
        self._cronjobs = factory.informer(CRONJOBS)
        self._jobs = factory.informer(JOBS, indexers={OWNER_UID_INDEX: by_owner_uid})
        self._cronjobs.add_handlers(on_add=self.enqueue,
                                    on_update=lambda _, new: self.enqueue(new))
        self._jobs.add_handlers(on_add=self._job_changed,
                                on_update=lambda _, new: self._job_changed(new),
                                on_delete=self._job_changed)

    def _job_changed(self, job: Object) -> None:
        owner = owned_by_kind(job, "CronJob")
        if owner:
            self.queue.add(f"{(job.get('metadata') or {}).get('namespace', '')}/{owner}")

    async def reconcile(self, key: str) -> float | None:
        cronjob = self._cronjobs.indexer.get(key)
        if cronjob is None:
            return None
        jobs = owned(self._jobs, cronjob)
        status = self._tracked_status(cronjob, jobs)
        for job in jobs_to_prune(cronjob, jobs):
            await self._delete_job(job)
        spec = cronjob.get("spec") or {}
        if is_terminating(cronjob) or spec.get("suspend") is True:
            await self._write_status(cronjob, status)
            return None
        try:
            schedule = parse_schedule(str(spec.get("schedule") or ""), spec.get("timeZone"))
        except ScheduleError as err:
            log.warning("cronjob %s: unparseable schedule: %s", key, err)
            await self._write_status(cronjob, status)
            return None
        now = datetime.fromtimestamp(self.clock.now(), UTC)
        status = await self._fire(cronjob, status, schedule, now)
        await self._write_status(cronjob, status)
        return _until_next(schedule, now)

    def _tracked_status(self, cronjob: Object, jobs: list[Object]) -> Object:
        status = dict(cronjob.get("status") or {})
        known = {ref.get("uid"): ref for ref in status.get("active") or ()}
        running = sorted((j for j in jobs if not finished(j)), key=name_of)
        if running:
            status["active"] = [known.get(uid_of(j)) or job_reference(j) for j in running]
        else:
            status.pop("active", None)
        last_success = last_successful_time(cronjob, jobs)
        if last_success:
            status["lastSuccessfulTime"] = last_success
        return status

    async def _fire(self, cronjob: Object, status: Object, schedule: Schedule,
                    now: datetime) -> Object:
        scheduled, missed = most_recent_schedule(schedule, earliest_time(cronjob, now), now)
        if scheduled is None or too_late(cronjob, scheduled, now):
            return status
        if missed > 100:
            log.warning("cronjob %s: %d missed start times; starting the latest only",
                        name_of(cronjob), missed)
        namespace = cronjob["metadata"]["namespace"]
        if self._jobs.indexer.get(f"{namespace}/{job_name(cronjob, scheduled)}") is not None:
            return status
        policy = (cronjob.get("spec") or {}).get("concurrencyPolicy", "Allow")
        active = list(status.get("active") or ())
        if policy == "Forbid" and active:
            return status
        if policy == "Replace":
            for ref in active:
                await self._delete_job(ref)
            active = []
        job = await self._create_job(job_for(cronjob, scheduled, schedule))
        return {**status, "active": [*active, job_reference(job)],
                "lastScheduleTime": format_time(scheduled)}

    async def _create_job(self, job: Object) -> Object:
        try:
            return await self.client.create(JOBS, job)
        except StatusError as err:
            if err.code != 409:
                raise
            return await self.client.get(JOBS, name_of(job),
                                         namespace=job["metadata"]["namespace"])

    async def _delete_job(self, job: Object) -> None:
        metadata = job.get("metadata") or job
        try:
            await self.client.delete(JOBS, str(metadata.get("name")),
                                     namespace=str(metadata.get("namespace")),
                                     propagation_policy="Background",
                                     preconditions={"uid": uid_of(job) or job.get("uid")})
        except StatusError as err:
            if err.code not in (404, 409):
                raise

    async def _write_status(self, cronjob: Object, status: Object) -> None:
        if status != (cronjob.get("status") or {}):
            await self.client.update_status(CRONJOBS, {**cronjob, "status": status})


def _until_next(schedule: Schedule, now: datetime) -> float | None:
    upcoming = schedule.next_after(now)
    if upcoming is None:
        return None
    return (upcoming - now).total_seconds() + _AFTER_FIRE_TIME
