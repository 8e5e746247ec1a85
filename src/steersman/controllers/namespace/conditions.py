"""What is left of a terminating namespace, and the status conditions that say so.

A :class:`ContentReport` sums up one pass of the deleter; :func:`deletion_conditions`
turns it into the five condition types kube's namespace controller maintains, with its
reasons and messages (``pkg/controller/namespace/deletion/status_condition_utils.go``), so
``kubectl describe namespace`` reads the same; :func:`merge_conditions` writes them into
the namespace's existing list, moving ``lastTransitionTime`` only when a status flips.
Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Object = dict[str, Any]

DISCOVERY_FAILURE = "NamespaceDeletionDiscoveryFailure"
PARSING_FAILURE = "NamespaceDeletionGroupVersionParsingFailure"
CONTENT_FAILURE = "NamespaceDeletionContentFailure"
CONTENT_REMAINING = "NamespaceContentRemaining"
FINALIZERS_REMAINING = "NamespaceFinalizersRemaining"

_OK: dict[str, tuple[str, str]] = {
    DISCOVERY_FAILURE: ("ResourcesDiscovered", "All resources successfully discovered"),
    PARSING_FAILURE: ("ParsedGroupVersions", "All legacy kube types successfully parsed"),
    CONTENT_FAILURE: ("ContentDeleted",
                      "All content successfully deleted, may be waiting on finalization"),
    CONTENT_REMAINING: ("ContentRemoved", "All content successfully removed"),
    FINALIZERS_REMAINING: ("ContentRemoved", "All content successfully removed"),
}


@dataclass(frozen=True)
class ContentReport:
    """One pass over a terminating namespace's content."""

    remaining: Mapping[str, int] = field(default_factory=dict)
    """``<resource>.<group>`` → objects still there."""
    finalizers: Mapping[str, int] = field(default_factory=dict)
    """finalizer → remaining objects that carry it."""
    delete_failures: Sequence[str] = ()
    discovery_failures: Mapping[str, str] = field(default_factory=dict)
    """groupVersion → why it could not be discovered."""

    @property
    def done(self) -> bool:
        """Nothing remains and nothing went unchecked: the namespace may be finalized."""
        return not (self.remaining or self.delete_failures or self.discovery_failures)


@dataclass(frozen=True)
class Condition:
    type: str
    status: str
    reason: str
    message: str


def deletion_conditions(report: ContentReport) -> list[Condition]:
    """The five namespace-deletion conditions for ``report``, in kube's order."""
    failing = {c.type: c for c in _failing_conditions(report)}
    return [failing.get(kind) or Condition(kind, "False", *_OK[kind]) for kind in _OK]


def _failing_conditions(report: ContentReport) -> list[Condition]:
    found: list[Condition] = []
    if report.discovery_failures:
        causes = ", ".join(f"{gv}: {why}" for gv, why in sorted(
            report.discovery_failures.items()))
        found.append(Condition(
            DISCOVERY_FAILURE, "True", "DiscoveryFailed",
            f"Discovery failed for some groups, {len(report.discovery_failures)} failing: "
            f"unable to retrieve the complete list of server APIs: {causes}"))
    if report.delete_failures:
        found.append(Condition(
            CONTENT_FAILURE, "True", "ContentDeletionFailed",
            f"Failed to delete all resource types, {len(report.delete_failures)} remaining: "
            f"{', '.join(sorted(report.delete_failures))}"))
    if report.remaining:
        found.append(Condition(
            CONTENT_REMAINING, "True", "SomeResourcesRemain",
            "Some resources are remaining: " + _counts(report.remaining, "has")))
    if report.finalizers:
        found.append(Condition(
            FINALIZERS_REMAINING, "True", "SomeFinalizerRemain",
            "Some finalizers are remaining: " + _counts(report.finalizers, "in")))
    return found


def _counts(counts: Mapping[str, int], verb: str) -> str:
    return ", ".join(sorted(f"{name} {verb} {n} resource instances"
                            for name, n in counts.items() if n))


def merge_conditions(existing: Sequence[Object], new: Sequence[Condition],
                     now: str) -> list[Object]:
    """``existing`` with ``new`` written in; other condition types are kept as they are."""
    merged = [dict(c) for c in existing]
    for condition in new:
        old = next((c for c in merged if c.get("type") == condition.type), None)
        if old is None:
            merged.append(_as_object(condition, now))
            continue
        if old.get("status") != condition.status:
            old["lastTransitionTime"] = now
        old.update(status=condition.status, reason=condition.reason,
                   message=condition.message)
    return merged


def _as_object(condition: Condition, now: str) -> Object:
    return {"type": condition.type, "status": condition.status, "lastTransitionTime": now,
            "reason": condition.reason, "message": condition.message}
