"""TaintToleration: NoSchedule/NoExecute taints filter, PreferNoSchedule taints score."""

from steersman.scheduler.plugins.taint_toleration.taint_toleration import (
    NAME,
    TaintToleration,
    new,
)

__all__ = ["NAME", "TaintToleration", "new"]
