"""A standard 5-field cron schedule check, as CronJob validation uses robfig/cron ``ParseStandard``.

:func:`schedule_errors` returns robfig/cron's error text for a schedule it cannot parse, or
``None``: five fields (minute, hour, day of month, month, day of week) of ``*``, ``?``,
numbers, names (``JAN``, ``MON``), ranges, lists and steps, or a descriptor (``@hourly``,
``@daily``, ``@every 5m``…). Computing fire times is the CronJob controller's business.
"""

from __future__ import annotations

import re

_DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_EVERY = re.compile(r"^@every\s+((\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+)$")
_MONTHS = {m: i + 1 for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}
_DAYS = {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
_BOUNDS: tuple[tuple[int, int, dict[str, int]], ...] = (
    (0, 59, {}), (0, 23, {}), (1, 31, {}), (1, 12, _MONTHS), (0, 6, _DAYS),
)


def schedule_errors(schedule: str) -> str | None:
    text = schedule.strip()
    if text.startswith(("TZ=", "CRON_TZ=")):
        return None
    if text.startswith("@"):
        if text in _DESCRIPTORS or _EVERY.match(text):
            return None
        if text.startswith("@every"):
            return f"failed to parse duration {text}: time: invalid duration"
        return f"unrecognized descriptor: {text}"
    fields = text.split()
    if len(fields) != 5:
        return f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]"
    for field, (low, high, names) in zip(fields, _BOUNDS, strict=True):
        for part in field.split(","):
            error = _range_error(part, low, high, names)
            if error:
                return error
    return None


def _range_error(expr: str, low: int, high: int, names: dict[str, int]) -> str | None:
    range_part, _, step = expr.partition("/")
    if step and not step.isdigit():
        return f"failed to parse int from {step}: strconv.Atoi: parsing \"{step}\": invalid syntax"
    if step and int(step) == 0:
        return f"step of range should be a positive number: {expr}"
    if range_part in ("*", "?"):
        return None
    bounds = range_part.split("-")
    if len(bounds) > 2:
        return f"too many hyphens: {expr}"
    values: list[int] = []
    for bound in bounds:
        value = names.get(bound.lower())
        if value is None:
            if not bound.isdigit():
                return (f"failed to parse int from {bound}: strconv.Atoi: "
                        f"parsing \"{bound}\": invalid syntax")
            value = int(bound)
        values.append(value)
    start, end = values[0], values[-1]
    if start < low:
        return f"beginning of range ({start}) below minimum ({low}): {expr}"
    if end > high:
        return f"end of range ({end}) above maximum ({high}): {expr}"
    if start > end:
        return f"beginning of range ({start}) beyond end of range ({end}): {expr}"
    return None
