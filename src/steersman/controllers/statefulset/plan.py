"""The next steps of a StatefulSet, decided from its pods alone (``stateful_set_control.go``).

With ``podManagementPolicy: OrderedReady`` the set moves one pod at a time: create the
lowest missing ordinal, and only once every lower pod is Running and Ready (and available
for ``minReadySeconds``); replace failed or succeeded pods; scale down by deleting the
highest ordinal first, one at a time, each only when the rest are healthy. ``Parallel``
creates and deletes without waiting. A rolling update then deletes, highest ordinal first,
the first pod at or above ``partition`` that is not on the update revision, waiting for the
pods above it to be healthy again (the next reconcile recreates it from the new revision).
Pods below the partition are created from the current revision. :func:`set_status` counts
what kubectl prints.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from steersman.controllers.podstate import (
    is_available,
    is_running_and_ready,
    is_terminal,
    is_terminating,
)
from steersman.controllers.statefulset.identity import revision_of

Object = dict[str, Any]


@dataclass(frozen=True)
class Shape:
    """What the StatefulSet asks for, with its two revisions' names."""

    replicas: int
    current_revision: str
    update_revision: str
    partition: int = 0
    ordered: bool = True
    rolling: bool = True
    min_ready_seconds: int = 0
    now: float = 0.0


@dataclass(frozen=True)
class Step:
    action: Literal["create", "delete"]
    ordinal: int
    revision: str = ""
    pod: Object | None = None


def revision_for(shape: Shape, ordinal: int) -> str:
    """``newVersionedStatefulSetPod``: below the partition pods stay on the current revision."""
    if shape.rolling and ordinal < shape.partition:
        return shape.current_revision
    return shape.update_revision


def _healthy(pod: Object, shape: Shape) -> bool:
    return is_running_and_ready(pod) and is_available(pod, shape.min_ready_seconds, shape.now)


def next_steps(shape: Shape, pods: Mapping[int, Object]) -> list[Step]:
    """What to do now; an ordered set returns at most one step."""
    steps, blocked = _replica_steps(shape, pods)
    if blocked:
        return steps
    condemned, blocked = _condemned_steps(shape, pods)
    steps += condemned
    if blocked or steps:
        return steps
    return _update_steps(shape, pods)


def _replica_steps(shape: Shape, pods: Mapping[int, Object]) -> tuple[list[Step], bool]:
    steps: list[Step] = []
    for ordinal in range(shape.replicas):
        pod = pods.get(ordinal)
        if pod is None:
            steps.append(Step("create", ordinal, revision_for(shape, ordinal)))
        elif is_terminal(pod) and not is_terminating(pod):
            steps.append(Step("delete", ordinal, pod=pod))
        elif not is_terminating(pod) and _healthy(pod, shape):
            continue
        if shape.ordered:
            return steps, True
    return steps, False


def _condemned_steps(shape: Shape, pods: Mapping[int, Object]) -> tuple[list[Step], bool]:
    condemned = sorted((o for o in pods if o >= shape.replicas), reverse=True)
    unhealthy = [o for o in condemned if not _healthy(pods[o], shape)]
    first_unhealthy = min(unhealthy, default=None)
    steps: list[Step] = []
    for ordinal in condemned:
        pod = pods[ordinal]
        if is_terminating(pod):
            if shape.ordered:
                return steps, True
            continue
        if shape.ordered and not _healthy(pod, shape) and ordinal != first_unhealthy:
            return steps, True
        steps.append(Step("delete", ordinal, pod=pod))
        if shape.ordered:
            return steps, True
    return steps, False


def _update_steps(shape: Shape, pods: Mapping[int, Object]) -> list[Step]:
    if not shape.rolling:
        return []
    for ordinal in range(shape.replicas - 1, shape.partition - 1, -1):
        pod = pods.get(ordinal)
        if pod is None:
            return []
        if revision_of(pod) != shape.update_revision and not is_terminating(pod):
            return [Step("delete", ordinal, pod=pod)]
        if not _healthy(pod, shape):
            return []
    return []


def set_status(sts: Mapping[str, Any], shape: Shape, pods: Mapping[int, Object],
               collision_count: int) -> Object:
    counts = dict.fromkeys(("replicas", "ready", "available", "current", "updated"), 0)
    for pod in pods.values():
        counts["replicas"] += 1
        if is_running_and_ready(pod):
            counts["ready"] += 1
            counts["available"] += is_available(pod, shape.min_ready_seconds, shape.now)
        if not is_terminating(pod):
            counts["current"] += revision_of(pod) == shape.current_revision
            counts["updated"] += revision_of(pod) == shape.update_revision
    current = shape.current_revision
    if shape.rolling and counts["updated"] == counts["replicas"] == counts["ready"] \
            and counts["replicas"] == shape.replicas:
        counts["current"], current = counts["updated"], shape.update_revision
    status = dict(sts.get("status") or {})
    status.update(
        observedGeneration=(sts.get("metadata") or {}).get("generation", 0),
        replicas=counts["replicas"], readyReplicas=counts["ready"],
        availableReplicas=counts["available"], currentReplicas=counts["current"],
        updatedReplicas=counts["updated"], currentRevision=current,
        updateRevision=shape.update_revision, collisionCount=collision_count)
    return status
