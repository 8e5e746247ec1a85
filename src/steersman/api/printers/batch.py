"""batch/v1 rows: Job (status from conditions, completions, duration) and CronJob."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steersman.api.printers.cells import (
    NONE,
    UNSET,
    age,
    container_cells,
    dig,
    first_true_condition,
    format_selector,
    human_duration,
    items,
    mapping,
    name_of,
    number,
    parse_time,
    since,
    text,
)
from steersman.api.printers.columns import (
    AGE,
    CONTAINERS,
    IMAGES,
    NAME,
    WIDE,
    Printer,
    api,
    col,
)

# Checked in this order; the first condition that is True names the status.
_JOB_STATES = ("Complete", "Failed", "Terminating", "Suspended", "FailureTarget")


def _job(obj: Mapping[str, Any], now: float) -> list[Any]:
    spec = mapping(obj, "spec")
    return [
        name_of(obj), _job_status(obj), _completions(obj), _job_duration(obj, now),
        age(obj, now), *container_cells(dig(spec, "template", "spec")),
        format_selector(spec.get("selector")),
    ]


def _job_status(obj: Mapping[str, Any]) -> str:
    conditions = items(obj, "status", "conditions")
    for state in _JOB_STATES:
        if state == "Terminating":
            if dig(obj, "metadata", "deletionTimestamp") is not None:
                return state
        elif first_true_condition(conditions, state):
            return state
    return "Running"


def _completions(obj: Mapping[str, Any]) -> str:
    spec = mapping(obj, "spec")
    succeeded = number(obj, "status", "succeeded")
    if spec.get("completions") is not None:
        return f"{succeeded}/{number(spec, 'completions')}"
    parallelism = number(spec, "parallelism")
    if parallelism > 1:
        return f"{succeeded}/1 of {parallelism}"
    return f"{succeeded}/1"


def _job_duration(obj: Mapping[str, Any], now: float) -> str:
    started = parse_time(dig(obj, "status", "startTime"))
    if started is None:
        return ""
    completed = parse_time(dig(obj, "status", "completionTime"))
    return human_duration((now if completed is None else completed) - started)


def _cron_job(obj: Mapping[str, Any], now: float) -> list[Any]:
    spec, status = mapping(obj, "spec"), mapping(obj, "status")
    last = status.get("lastScheduleTime")
    job_spec = mapping(spec, "jobTemplate", "spec")
    return [
        name_of(obj), text(spec, "schedule"), text(spec, "timeZone") or NONE,
        _bool_text(spec.get("suspend")), len(items(status, "active")),
        NONE if last is None else since(last, now), age(obj, now),
        *container_cells(dig(job_spec, "template", "spec")),
        format_selector(job_spec.get("selector")),
    ]


def _bool_text(value: Any) -> str:
    """``printBoolPtr``: ``True``/``False``, ``<unset>`` when absent."""
    if not isinstance(value, bool):
        return UNSET
    return "True" if value else "False"


_JOB_COLUMNS = (
    NAME,
    col("Status", "Status of the job."),
    col("Completions", api("batch.v1.JobStatus", "succeeded")),
    col("Duration", "Time required to complete the job."),
    AGE, CONTAINERS, IMAGES,
    col("Selector", api("batch.v1.JobSpec", "selector"), priority=WIDE),
)
_CRON_JOB_COLUMNS = (
    NAME,
    col("Schedule", api("batch.v1.CronJobSpec", "schedule")),
    col("Timezone", api("batch.v1.CronJobSpec", "timeZone")),
    col("Suspend", api("batch.v1.CronJobSpec", "suspend"), type="boolean"),
    col("Active", api("batch.v1.CronJobStatus", "active"), type="integer"),
    col("Last Schedule", api("batch.v1.CronJobStatus", "lastScheduleTime")),
    AGE, CONTAINERS, IMAGES,
    col("Selector", api("batch.v1.JobSpec", "selector"), priority=WIDE),
)

PRINTERS = {
    "Job": Printer(_JOB_COLUMNS, _job),
    "CronJob": Printer(_CRON_JOB_COLUMNS, _cron_job),
}
