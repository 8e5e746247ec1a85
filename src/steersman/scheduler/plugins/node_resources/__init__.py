"""NodeResourcesFit (requests vs allocatable; LeastAllocated score) and BalancedAllocation."""

from steersman.scheduler.plugins.node_resources.balanced_allocation import (
    BALANCED_ALLOCATION,
    BalancedAllocation,
    new_balanced_allocation,
)
from steersman.scheduler.plugins.node_resources.fit import NAME, Fit, insufficient_reason, new_fit

__all__ = ["BALANCED_ALLOCATION", "NAME", "BalancedAllocation", "Fit", "insufficient_reason",
           "new_balanced_allocation", "new_fit"]
