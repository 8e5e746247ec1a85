"""PrioritySort (upstream ``queuesort.PrioritySort``): the activeQ ordering."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steersman.scheduler.framework.interface import Handle
from steersman.scheduler.framework.types import PodInfo

NAME = "PrioritySort"


class PrioritySort:
    name = NAME

    def sort_key(self, pod: PodInfo, enqueued_at: float) -> tuple[int, float]:
        return (-pod.priority, enqueued_at)


def new(_args: Mapping[str, Any], _handle: Handle) -> PrioritySort:
    return PrioritySort()
