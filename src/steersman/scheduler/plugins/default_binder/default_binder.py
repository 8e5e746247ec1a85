"""DefaultBinder (upstream ``plugins/defaultbinder``): POST ``pods/<name>/binding``.

The write itself is the handle's (the scheduler's injected ``Binder``); a failure becomes an
``ERROR`` status so the scheduler forgets the assumed pod and retries with back-off.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steersman.scheduler.framework.interface import SUCCESS, CycleState, Handle, Status, error
from steersman.scheduler.framework.types import PodInfo

NAME = "DefaultBinder"


class DefaultBinder:
    name = NAME

    def __init__(self, handle: Handle) -> None:
        self._handle = handle

    async def bind(self, state: CycleState, pod: PodInfo, node_name: str) -> Status:
        try:
            await self._handle.bind(pod.pod, node_name)
        except Exception as exc:  # the API layer's errors are outcomes here: retry later
            return error(f"binding rejected: {exc}", plugin=NAME)
        return SUCCESS


def new(_args: Mapping[str, Any], handle: Handle) -> DefaultBinder:
    return DefaultBinder(handle)
