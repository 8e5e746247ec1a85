"""PrioritySort: higher ``spec.priority`` first, then earlier arrival in the queue."""

from steersman.scheduler.plugins.queue_sort.priority_sort import NAME, PrioritySort, new

__all__ = ["NAME", "PrioritySort", "new"]
