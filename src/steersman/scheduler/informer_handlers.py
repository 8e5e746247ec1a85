"""Informer events → :class:`~steersman.scheduler.scheduler.Scheduler` handlers, filtered.

The scheduler's handlers parse a pod (``PodInfo``) on every call, and a busy cluster sends
far more pod updates than scheduling-relevant changes (every status write of a node agent,
every condition the scheduler itself writes). These adapters drop, cheaply, the updates
that cannot change a decision, as upstream's event handlers do:

* a pod update that changes neither ``spec`` nor labels nor the deletion mark is skipped
  (upstream ``isPodUpdated`` strips status and metadata noise the same way) — in
  particular the scheduler's own ``PodScheduled=False`` write does not retry a parked pod;
* a pod that reaches ``Succeeded``/``Failed`` leaves the cache (its resources are free), and
  terminal pods are never added;
* a node update that changes neither ``spec``, labels, allocatable nor images is skipped
  (lease-era heartbeats rewrite only conditions).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steersman.scheduler.scheduler import Scheduler

Object = Mapping[str, Any]
TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})


class PodEvents:
    """``on_add``/``on_update``/``on_delete`` for the pod informer."""

    def __init__(self, scheduler: Scheduler) -> None:
        self._scheduler = scheduler

    def on_add(self, pod: Object) -> None:
        if not _terminal(pod):
            self._scheduler.on_pod_add(pod)

    def on_update(self, old: Object, new: Object) -> None:
        if _terminal(new):
            if not _terminal(old):
                self._scheduler.on_pod_delete(new)
        elif _terminal(old):
            self._scheduler.on_pod_add(new)
        elif pod_changed(old, new):
            self._scheduler.on_pod_update(new)

    def on_delete(self, pod: Object) -> None:
        self._scheduler.on_pod_delete(pod)


class NodeEvents:
    """``on_add``/``on_update``/``on_delete`` for the node informer."""

    def __init__(self, scheduler: Scheduler) -> None:
        self._scheduler = scheduler

    def on_add(self, node: Object) -> None:
        self._scheduler.on_node_add(node)

    def on_update(self, old: Object, new: Object) -> None:
        if node_changed(old, new):
            self._scheduler.on_node_update(new)

    def on_delete(self, node: Object) -> None:
        self._scheduler.on_node_delete(node)


def pod_changed(old: Object, new: Object) -> bool:
    """Whether an update can matter to scheduling (status-only writes cannot)."""
    if old.get("spec") != new.get("spec"):
        return True
    old_meta, new_meta = old.get("metadata") or {}, new.get("metadata") or {}
    return (old_meta.get("labels") != new_meta.get("labels")
            or old_meta.get("deletionTimestamp") != new_meta.get("deletionTimestamp"))


def node_changed(old: Object, new: Object) -> bool:
    """Whether a node update changes what the filters and scores read."""
    if old.get("spec") != new.get("spec"):
        return True
    if (old.get("metadata") or {}).get("labels") != (new.get("metadata") or {}).get("labels"):
        return True
    old_status, new_status = old.get("status") or {}, new.get("status") or {}
    return (old_status.get("allocatable") != new_status.get("allocatable")
            or old_status.get("images") != new_status.get("images"))


def _terminal(pod: Object) -> bool:
    return (pod.get("status") or {}).get("phase") in TERMINAL_PHASES
