"""Cron fire times (robfig/cron semantics, time zones) and CronJob schedule decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from steersman.controllers.cronjob.plan import (
    earliest_time,
    job_for,
    job_name,
    jobs_to_prune,
    most_recent_schedule,
    too_late,
)
from steersman.controllers.cronjob.schedule import ScheduleError, parse_schedule


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(("schedule", "zone", "after", "expected"), [
    ("* * * * *", None, "2024-01-01T10:00:30", "2024-01-01T10:01:00"),
    ("*/15 * * * *", None, "2024-01-01T10:14:00", "2024-01-01T10:15:00"),
    ("@hourly", None, "2024-01-01T10:00:00", "2024-01-01T11:00:00"),
    ("@daily", None, "2024-01-01T10:00:00", "2024-01-02T00:00:00"),
    ("@weekly", None, "2024-01-01T10:00:00", "2024-01-07T00:00:00"),
    ("@monthly", None, "2024-01-31T10:00:00", "2024-02-01T00:00:00"),
    ("@yearly", None, "2024-01-01T10:00:00", "2025-01-01T00:00:00"),
    ("30 6-16/4 * * 1-5", None, "2024-01-05T15:00:00", "2024-01-08T06:30:00"),
    ("0 0 13 * FRI", None, "2024-01-01T00:00:00", "2024-01-05T00:00:00"),  # dom OR dow
    ("0 0 29 2 *", None, "2024-03-01T00:00:00", "2028-02-29T00:00:00"),
    ("0 9 * JAN-MAR MON", None, "2024-03-31T00:00:00", "2025-01-06T09:00:00"),
    ("0 9 * * *", "Europe/Berlin", "2024-01-01T00:00:00", "2024-01-01T08:00:00"),
    ("CRON_TZ=America/New_York 0 9 * * *", None, "2024-07-01T00:00:00",
     "2024-07-01T13:00:00"),
    ("@every 90s", None, "2024-01-01T00:00:00", "2024-01-01T00:01:30"),
])
def test_next_after(schedule: str, zone: str | None, after: str, expected: str) -> None:
    assert parse_schedule(schedule, zone).next_after(at(after)) == at(expected)


@pytest.mark.parametrize(("schedule", "zone"), [("* * *", None), ("61 * * * *", None),
                                               ("* * * * *", "Mars/Base")])
def test_invalid_schedules(schedule: str, zone: str | None) -> None:
    with pytest.raises(ScheduleError):
        parse_schedule(schedule, zone)


@pytest.mark.parametrize(("earliest", "now", "expected", "missed"), [
    ("2024-01-01T10:00:00", "2024-01-01T10:00:59", None, 0),
    ("2024-01-01T10:00:00", "2024-01-01T10:01:10", "2024-01-01T10:01:00", 1),
    ("2024-01-01T10:00:00", "2024-01-01T10:05:10", "2024-01-01T10:05:00", 5),
    ("2023-01-01T10:00:00", "2024-01-01T10:05:10", "2024-01-01T10:05:00", 525605),
])
def test_most_recent_schedule(earliest: str, now: str, expected: str | None, missed: int
                              ) -> None:
    found, count = most_recent_schedule(parse_schedule("* * * * *"), at(earliest), at(now))
    assert (found, count) == (None if expected is None else at(expected), missed)


def test_irregular_schedule_most_recent() -> None:
    schedule = parse_schedule("30 6-16/4 * * 1-5")
    found, _ = most_recent_schedule(schedule, at("2024-01-01T00:00:00"),
                                    at("2024-01-09T12:00:00"))
    assert found == at("2024-01-09T10:30:00")


def cronjob(**spec: object) -> dict[str, object]:
    return {"metadata": {"name": "tick", "namespace": "ns", "uid": "u",
                         "creationTimestamp": "2024-01-01T10:00:00Z"},
            "spec": {"schedule": "* * * * *", **spec,
                     "jobTemplate": {"metadata": {"labels": {"x": "y"}}, "spec": {"a": 1}}},
            "status": {}}


def test_deadlines_and_names() -> None:
    now = at("2024-01-01T12:00:30")
    assert earliest_time(cronjob(), now) == at("2024-01-01T10:00:00")
    assert earliest_time(cronjob(startingDeadlineSeconds=60), now) == now - timedelta(seconds=60)
    assert too_late(cronjob(startingDeadlineSeconds=10), at("2024-01-01T12:00:00"), now)
    assert not too_late(cronjob(), at("2024-01-01T12:00:00"), now)
    scheduled = at("2024-01-01T12:00:00")
    assert job_name(cronjob(), scheduled) == f"tick-{int(scheduled.timestamp()) // 60}"
    job = job_for(cronjob(), scheduled, parse_schedule("* * * * *"))
    assert job["metadata"]["labels"] == {"x": "y"} and job["spec"] == {"a": 1}
    assert job["metadata"]["ownerReferences"][0]["uid"] == "u"


def finished_job(name: str, outcome: str, when: str) -> dict[str, object]:
    return {"metadata": {"name": name, "creationTimestamp": when},
            "status": {"conditions": [{"type": outcome, "status": "True",
                                       "lastTransitionTime": when}]}}


def test_history_limits_prune_the_oldest() -> None:
    jobs = [finished_job(f"ok{i}", "Complete", f"2024-01-01T10:0{i}:00Z") for i in range(5)]
    jobs += [finished_job(f"bad{i}", "Failed", f"2024-01-01T10:0{i}:00Z") for i in range(2)]
    pruned = jobs_to_prune(cronjob(successfulJobsHistoryLimit=3, failedJobsHistoryLimit=1),
                           jobs)
    assert [j["metadata"]["name"] for j in pruned] == ["ok0", "ok1", "bad0"]
