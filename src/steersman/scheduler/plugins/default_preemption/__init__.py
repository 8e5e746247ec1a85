"""DefaultPreemption: when a pod fits nowhere, evict fewer, lower-priority pods to make room."""

from steersman.scheduler.plugins.default_preemption.plugin import (
    NAME,
    NO_VICTIMS,
    NOT_ELIGIBLE_NEVER,
    NOT_HELPFUL,
    DefaultPreemption,
    new,
)

__all__ = ["NAME", "NOT_ELIGIBLE_NEVER", "NOT_HELPFUL", "NO_VICTIMS", "DefaultPreemption", "new"]
