"""Cron schedules that compute fire times: robfig/cron's standard parser, in a time zone.

:func:`parse_schedule` accepts what CronJob validation accepts
(:func:`steersman.api.strategies.cron.schedule_errors` rejects the rest with robfig's
message): five fields of ``*``/``?``, numbers, month and weekday names, ranges, lists and
steps; the descriptors ``@yearly``/``@annually``, ``@monthly``, ``@weekly``,
``@daily``/``@midnight``, ``@hourly``; ``@every <duration>``; and a ``CRON_TZ=``/``TZ=``
prefix. Fields match in the schedule's zone (``spec.timeZone``, else the prefix, else UTC).
As in robfig, when both day-of-month and day-of-week are restricted a day matching either
fires; ``*/n`` counts as restricted.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol

from steersman.api.strategies.cron import schedule_errors

_DESCRIPTORS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
                "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
                "@hourly": "0 * * * *"}
_MONTHS = {m: i + 1 for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}
_DAYS = {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
_BOUNDS: tuple[tuple[int, int, dict[str, int]], ...] = (
    (0, 59, {}), (0, 23, {}), (1, 31, {}), (1, 12, _MONTHS), (0, 6, _DAYS))
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_SEARCH_YEARS = 5


class ScheduleError(ValueError):
    """The schedule (or its time zone) cannot be parsed."""


class Schedule(Protocol):
    def next_after(self, moment: datetime) -> datetime | None:
        """The first fire time strictly after ``moment`` (aware, UTC); ``None``: never."""
        ...


@dataclass(frozen=True)
class EverySchedule:
    """``@every <duration>``: fire every ``seconds`` (at least 1 s), on whole seconds."""

    seconds: float

    def next_after(self, moment: datetime) -> datetime:
        step = max(self.seconds, 1.0)
        whole = moment.replace(microsecond=0)
        return (whole + timedelta(seconds=step)).astimezone(UTC)


@dataclass(frozen=True)
class CronSchedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool  # day of month is * (or ?)
    any_weekday: bool
    zone: tzinfo = UTC

    def next_after(self, moment: datetime) -> datetime | None:
        wall = moment.astimezone(self.zone).replace(tzinfo=None, second=0, microsecond=0)
        wall += timedelta(minutes=1)
        limit = wall.year + _SEARCH_YEARS
        while wall.year <= limit:
            step = self._skip(wall)
            if step is not None:
                wall = step
                continue
            fired = wall.replace(tzinfo=self.zone).astimezone(UTC)
            if fired > moment:
                return fired
            wall += timedelta(minutes=1)  # a repeated wall-clock hour (DST ends)
        return None

    def _skip(self, wall: datetime) -> datetime | None:
        """The next wall time worth trying when ``wall`` does not match, else ``None``."""
        if wall.month not in self.months:
            year, month = (wall.year + 1, 1) if wall.month == 12 else (wall.year, wall.month + 1)
            return datetime(year, month, 1)
        if not self._day_matches(wall):
            return datetime(wall.year, wall.month, wall.day) + timedelta(days=1)
        if wall.hour not in self.hours:
            return wall.replace(minute=0) + timedelta(hours=1)
        if wall.minute not in self.minutes:
            return wall + timedelta(minutes=1)
        return None

    def _day_matches(self, wall: datetime) -> bool:
        in_month = wall.day in self.days
        in_week = (wall.weekday() + 1) % 7 in self.weekdays
        if self.any_day or self.any_weekday:
            return in_month and in_week
        return in_month or in_week


def parse_schedule(schedule: str, time_zone: str | None = None) -> Schedule:
    text = schedule.strip()
    zone_name = time_zone
    if text.startswith(("CRON_TZ=", "TZ=")):
        prefix, _, text = text.partition(" ")
        zone_name = zone_name or prefix.partition("=")[2]
        text = text.strip()
    error = schedule_errors(text)
    if error:
        raise ScheduleError(error)
    zone = _zone(zone_name)
    if text.startswith("@every"):
        return EverySchedule(_duration(text.removeprefix("@every").strip()))
    fields = _DESCRIPTORS.get(text, text).split()
    sets = [_field(f, low, high, names) for f, (low, high, names) in zip(fields, _BOUNDS,
                                                                          strict=True)]
    (minutes, _), (hours, _), (days, any_day), (months, _), (weekdays, any_weekday) = sets
    return CronSchedule(minutes, hours, days, months, weekdays, any_day=any_day,
                        any_weekday=any_weekday, zone=zone)


def _zone(name: str | None) -> tzinfo:
    if not name or name == "UTC":
        return UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as err:
        raise ScheduleError(f"unknown time zone {name}") from err


def _duration(text: str) -> float:
    return sum(float(n) * _UNITS[unit] for n, unit in _DURATION_PART.findall(text))


def _field(text: str, low: int, high: int, names: dict[str, int]) -> tuple[frozenset[int], bool]:
    """The values a field allows, and whether it is a bare ``*``/``?``."""
    values: set[int] = set()
    star = False
    for part in text.split(","):
        range_part, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if range_part in ("*", "?"):
            start, end = low, high
            star = star or step == 1
        else:
            numbers = [names[t.lower()] if t.lower() in names else int(t)
                       for t in range_part.split("-")]
            start, end = numbers[0], numbers[-1]
            if step_text and len(numbers) == 1:
                end = high  # "N/step" means N-max/step
        values.update(range(start, end + 1, step))
    return frozenset(values), star
