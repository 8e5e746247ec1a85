"""PodTopologySpread: topologySpreadConstraints (DoNotSchedule filters, ScheduleAnyway scores)."""

from steersman.scheduler.plugins.pod_topology_spread.filtering import (
    ERR_CONSTRAINTS_NOT_MATCH,
    ERR_NODE_LABEL_NOT_MATCH,
)
from steersman.scheduler.plugins.pod_topology_spread.plugin import NAME, PodTopologySpread, new

__all__ = ["ERR_CONSTRAINTS_NOT_MATCH", "ERR_NODE_LABEL_NOT_MATCH", "NAME",
           "PodTopologySpread", "new"]
