"""CPU and memory read from procfs: the node's, and a process group's.

* :func:`node_cpu_seconds`: the busy time of every CPU since boot from the ``cpu`` line of
  ``/proc/stat`` (user, nice, system, irq, softirq, steal; not idle or iowait), in
  core-seconds, as cAdvisor counts the root cgroup.
* :func:`node_memory_working_set`: ``MemTotal - MemAvailable`` from ``/proc/meminfo``, in
  bytes: memory in use that the kernel could not simply drop.
* :func:`process_groups`: one scan of ``/proc/<pid>/stat`` giving, per process group, the
  CPU time of its live members (their own and their reaped children's) and their resident
  set. The ``process`` runtime runs each container as a process group whose ID is the
  main PID, with no cgroup of its own, so this is its usage; a process that left the group
  (``setsid``) is not counted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
_BUSY_FIELDS = (0, 1, 2, 5, 6, 7)  # user nice system [idle iowait] irq softirq steal


@dataclass(frozen=True)
class GroupUsage:
    """A process group's CPU time (core-seconds) and resident memory (bytes)."""

    cpu_seconds: float
    memory_bytes: int


def node_cpu_seconds(proc: Path = PROC) -> float:
    for line in (proc / "stat").read_text().splitlines():
        fields = line.split()
        if fields and fields[0] == "cpu":
            ticks = [int(value) for value in fields[1:]]
            return sum(ticks[i] for i in _BUSY_FIELDS if i < len(ticks)) / CLOCK_TICKS
    raise ValueError(f"{proc / 'stat'} has no aggregate cpu line")


def node_memory_working_set(proc: Path = PROC) -> int:
    values: dict[str, int] = {}
    for line in (proc / "meminfo").read_text().splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts:
            values[name] = int(parts[0]) * 1024
    available = values.get("MemAvailable", values.get("MemFree", 0))
    return max(values.get("MemTotal", 0) - available, 0)


def process_groups(proc: Path = PROC) -> dict[int, GroupUsage]:
    """Usage per process group ID, from one pass over every process."""
    ticks: dict[int, int] = {}
    pages: dict[int, int] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        parsed = _group_and_usage(entry / "stat")
        if parsed is None:
            continue
        group, cpu, rss = parsed
        ticks[group] = ticks.get(group, 0) + cpu
        pages[group] = pages.get(group, 0) + rss
    return {group: GroupUsage(ticks[group] / CLOCK_TICKS, pages[group] * PAGE_SIZE)
            for group in ticks}


def _group_and_usage(stat_file: Path) -> tuple[int, int, int] | None:
    """(pgrp, utime+stime+cutime+cstime, rss pages) of one process; None once it is gone."""
    try:
        text = stat_file.read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = text[text.rfind(")") + 2:].split()
    if len(fields) < 22:
        return None
    # fields[0] is field 3 of proc(5): pgrp is 5, utime..cstime 14..17, rss 24.
    cpu = sum(int(value) for value in fields[11:15])
    return int(fields[2]), cpu, int(fields[21])
