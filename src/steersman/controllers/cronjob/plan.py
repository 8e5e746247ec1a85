"""CronJob decisions as pure functions (``cronjob_controllerv2.go`` and ``utils.go``).

* :func:`most_recent_schedule` — the latest fire time in ``(earliest, now]``, where
  ``earliest`` is ``status.lastScheduleTime`` (else the creation time), moved up to
  ``now - startingDeadlineSeconds`` when that is later; with the number of fire times missed.
* :func:`job_name` — ``<cronjob>-<scheduled time in minutes since the epoch>``, so one
  fire time makes at most one Job however often the controller looks.
* :func:`job_for` — the Job a fire time makes from ``spec.jobTemplate``.
* :func:`jobs_to_prune` — finished Jobs beyond the history limits, oldest first.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from steersman.api.meta import parse_time
from steersman.controllers.cronjob.schedule import CronSchedule, Schedule
from steersman.controllers.job.conditions import finished, finished_at
from steersman.controllers.podstate import controller_ref, created_at, name_of

Object = dict[str, Any]
SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp"


def earliest_time(cronjob: Mapping[str, Any], now: datetime) -> datetime:
    status, spec = cronjob.get("status") or {}, cronjob.get("spec") or {}
    last = status.get("lastScheduleTime")
    earliest = parse_time(str(last)) if last else datetime.fromtimestamp(created_at(cronjob),
                                                                         UTC)
    deadline = spec.get("startingDeadlineSeconds")
    if deadline is not None:
        earliest = max(earliest, now - timedelta(seconds=int(deadline)))
    return earliest


def most_recent_schedule(schedule: Schedule, earliest: datetime, now: datetime
                         ) -> tuple[datetime | None, int]:
    """(latest fire time in ``(earliest, now]`` or ``None``, how many fire times that is)."""
    first = schedule.next_after(earliest)
    if first is None or first > now:
        return None, 0
    second = schedule.next_after(first)
    if second is None or second > now:
        return first, 1
    interval = max(round((second - first).total_seconds()), 1)
    missed = int((now - first).total_seconds()) // interval + 1
    probe = first + timedelta(seconds=(missed - 2) * interval)
    latest, moment = first, schedule.next_after(probe)
    while moment is not None and moment <= now:
        latest, moment = moment, schedule.next_after(moment)
    return latest, missed


def too_late(cronjob: Mapping[str, Any], scheduled: datetime, now: datetime) -> bool:
    deadline = (cronjob.get("spec") or {}).get("startingDeadlineSeconds")
    return deadline is not None and scheduled + timedelta(seconds=int(deadline)) < now


def job_name(cronjob: Mapping[str, Any], scheduled: datetime) -> str:
    return f"{name_of(cronjob)}-{int(scheduled.timestamp()) // 60}"


def job_for(cronjob: Mapping[str, Any], scheduled: datetime, schedule: Schedule) -> Object:
    template = copy.deepcopy((cronjob.get("spec") or {}).get("jobTemplate") or {})
    template_meta = template.get("metadata") or {}
    zone = schedule.zone if isinstance(schedule, CronSchedule) else UTC
    annotations = {**(template_meta.get("annotations") or {}),
                   SCHEDULED_TIMESTAMP: scheduled.astimezone(zone).isoformat()}
    metadata: Object = {"name": job_name(cronjob, scheduled),
                        "namespace": (cronjob.get("metadata") or {}).get("namespace", ""),
                        "annotations": annotations, "ownerReferences": [controller_ref(cronjob)]}
    if template_meta.get("labels"):
        metadata["labels"] = template_meta["labels"]
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata,
            "spec": template.get("spec") or {}}


def job_reference(job: Mapping[str, Any]) -> Object:
    metadata = job.get("metadata") or {}
    return {"kind": "Job", "apiVersion": "batch/v1", "name": metadata.get("name", ""),
            "namespace": metadata.get("namespace", ""), "uid": metadata.get("uid", ""),
            "resourceVersion": metadata.get("resourceVersion", "")}


def jobs_to_prune(cronjob: Mapping[str, Any], jobs: Iterable[Object]) -> list[Object]:
    spec = cronjob.get("spec") or {}
    prune: list[Object] = []
    for outcome, key, default in (("Complete", "successfulJobsHistoryLimit", 3),
                                  ("Failed", "failedJobsHistoryLimit", 1)):
        limit = spec.get(key, default)
        if limit is None:
            continue
        done = sorted((j for j in jobs if finished(j) == outcome),
                      key=lambda j: (finished_at(j) or 0.0, created_at(j)))
        prune += done[:max(len(done) - int(limit), 0)]
    return prune


def last_successful_time(cronjob: Mapping[str, Any], jobs: Iterable[Object]) -> str | None:
    times = [str((j.get("status") or {}).get("completionTime")) for j in jobs
             if finished(j) == "Complete" and (j.get("status") or {}).get("completionTime")]
    known = (cronjob.get("status") or {}).get("lastSuccessfulTime")
    if known:
        times.append(str(known))
    return max(times, key=lambda t: parse_time(t), default=None)
