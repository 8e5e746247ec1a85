"""The message a user reads when a pod fits nowhere, in upstream's exact words.

``FitError.Error()`` (``pkg/scheduler/framework/types.go``)::

    0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/
    control-plane: }, 2 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption
    is not helpful for scheduling.

Reasons are counted over nodes (a node with two reasons counts in both), printed as
``"<count> <reason>"`` and sorted as strings — so ``"10 …"`` sorts before ``"2 …"``, as
upstream's ``sort.Strings`` does. A PreFilter rejection replaces the per-node histogram; the
PostFilter (preemption) message — itself a full sentence ending in ``.`` — is appended
after it with a space.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from steersman.scheduler.framework.interface import Status

NO_NODE_AVAILABLE = "0/{} nodes are available"


def reason_histogram(statuses: Iterable[Status], *, absent: int = 0,
                     absent_status: Status | None = None) -> str:
    """``"1 reason a, 2 reason b"``: per-reason node counts, sorted as strings."""
    counts: Counter[str] = Counter()
    for status in statuses:
        counts.update(status.reasons)
    if absent and absent_status is not None:
        for reason in absent_status.reasons:
            counts[reason] += absent
    return ", ".join(sorted(f"{count} {reason}" for reason, count in counts.items()))


def nodes_unavailable(num_all_nodes: int, statuses: Mapping[str, Status], *,
                      absent_status: Status | None = None) -> str:
    """``0/N nodes are available: <histogram>.`` (the shape preemption reuses)."""
    message = NO_NODE_AVAILABLE.format(num_all_nodes) + ":"
    histogram = reason_histogram(statuses.values(), absent=num_all_nodes - len(statuses),
                                 absent_status=absent_status)
    if histogram:
        message += f" {histogram}."
    return message


@dataclass(slots=True)
class FitError:
    """Why a pod fits no node: the PreFilter rejection or every node's Filter status."""

    num_all_nodes: int
    statuses: Mapping[str, Status]
    pre_filter_message: str = ""
    post_filter_message: str = ""
    absent_status: Status | None = None

    def message(self) -> str:
        message = NO_NODE_AVAILABLE.format(self.num_all_nodes) + ":"
        if self.pre_filter_message:
            message += f" {self.pre_filter_message}."
        else:
            histogram = reason_histogram(
                self.statuses.values(), absent=self.num_all_nodes - len(self.statuses),
                absent_status=self.absent_status)
            if histogram:
                message += f" {histogram}."
        if self.post_filter_message:
            message += f" {self.post_filter_message}"
        return message
