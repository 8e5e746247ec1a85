"""NodeUnschedulable: cordoned nodes (``spec.unschedulable``) take only pods that tolerate it."""

from steersman.scheduler.plugins.node_unschedulable.node_unschedulable import (
    ERR_REASON,
    NAME,
    NodeUnschedulable,
    new,
)

__all__ = ["ERR_REASON", "NAME", "NodeUnschedulable", "new"]
