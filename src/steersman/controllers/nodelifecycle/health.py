"""Node health from heartbeats, and the taints a node's conditions call for (pure functions).

Upstream ``monitorNodeHealth``/``tryUpdateNodeHealth``: the controller notes *when it saw*
a heartbeat change (the node's Lease ``spec.renewTime`` or its Ready condition's
``lastHeartbeatTime``), on its own clock, so clock skew between node and controller does
not matter. When nothing changed for the grace period, the node's Ready and pressure
conditions become Unknown ("Kubelet stopped posting node status."). Taints then follow the
conditions (``doNoExecuteTaintingPass`` and ``doNoScheduleTaintingPass``): Ready False →
``not-ready``, Unknown → ``unreachable`` (NoExecute with ``timeAdded``, and NoSchedule);
pressure conditions and ``spec.unschedulable`` → their NoSchedule taints. Taints with
other keys are never touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from steersman.controllers.nodelifecycle.taints import NO_EXECUTE, NO_SCHEDULE
from steersman.controllers.podstate import condition

Object = dict[str, Any]
NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
PRESSURE_TAINTS = {"MemoryPressure": "node.kubernetes.io/memory-pressure",
                   "DiskPressure": "node.kubernetes.io/disk-pressure",
                   "PIDPressure": "node.kubernetes.io/pid-pressure",
                   "NetworkUnavailable": "node.kubernetes.io/network-unavailable"}
MANAGED_TAINT_KEYS = frozenset({NOT_READY, UNREACHABLE, UNSCHEDULABLE, *PRESSURE_TAINTS.values()})
READY_TAINTS = {"False": NOT_READY, "Unknown": UNREACHABLE}
UNKNOWN_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
STOPPED_POSTING = "Kubelet stopped posting node status."
NEVER_POSTED = "Kubelet never posted node status."


@dataclass(frozen=True)
class Probe:
    """The last heartbeat seen for a node, and when (controller clock) it was seen."""

    lease_renew: str
    heartbeat: str
    seen_at: float


def observe(previous: Probe | None, node: Object, lease: Object | None, now: float) -> Probe:
    """The probe after looking at ``node`` and ``lease`` at ``now``."""
    renew = str(((lease or {}).get("spec") or {}).get("renewTime") or "")
    ready = condition(node, "Ready") or {}
    heartbeat = str(ready.get("lastHeartbeatTime") or "")
    if previous is not None and (previous.lease_renew, previous.heartbeat) == (renew, heartbeat):
        return previous
    return Probe(renew, heartbeat, now)


def ready_status(node: Object) -> str:
    """``True``, ``False``, ``Unknown``, or ``""`` when the node never posted a Ready condition."""
    ready = condition(node, "Ready")
    return str(ready.get("status") or "Unknown") if ready is not None else ""


def with_unknown_conditions(node: Object, now: str) -> Object:
    """A copy of ``node`` whose Ready and pressure conditions are Unknown."""
    conditions = [dict(c) for c in (node.get("status") or {}).get("conditions") or []]
    by_type = {c.get("type"): c for c in conditions}
    for kind in UNKNOWN_CONDITIONS:
        entry = by_type.get(kind)
        if entry is None:
            created = str(node["metadata"].get("creationTimestamp") or now)
            conditions.append({"type": kind, "status": "Unknown",
                               "reason": "NodeStatusNeverUpdated", "message": NEVER_POSTED,
                               "lastHeartbeatTime": created, "lastTransitionTime": now})
        elif entry.get("status") != "Unknown":
            entry.update(status="Unknown", reason="NodeStatusUnknown", message=STOPPED_POSTING,
                         lastTransitionTime=now)
    return {**node, "status": {**(node.get("status") or {}), "conditions": conditions}}


def derived_taints(node: Object) -> list[tuple[str, str]]:
    """The (key, effect) pairs the node's conditions and spec call for."""
    wanted: list[tuple[str, str]] = []
    key = READY_TAINTS.get(ready_status(node))
    if key:
        wanted += [(key, NO_EXECUTE), (key, NO_SCHEDULE)]
    for kind, pressure_key in PRESSURE_TAINTS.items():
        entry = condition(node, kind)
        if entry is not None and entry.get("status") == "True":
            wanted.append((pressure_key, NO_SCHEDULE))
    if (node.get("spec") or {}).get("unschedulable"):
        wanted.append((UNSCHEDULABLE, NO_SCHEDULE))
    return wanted


def desired_taints(node: Object, now: str) -> list[Object]:
    """The node's taints with the managed ones made to match :func:`derived_taints`."""
    wanted = derived_taints(node)
    current = [t for t in (node.get("spec") or {}).get("taints") or [] if isinstance(t, dict)]
    kept = [t for t in current if t.get("key") not in MANAGED_TAINT_KEYS
            or (t.get("key"), t.get("effect")) in wanted]
    present = {(t.get("key"), t.get("effect")) for t in kept}
    for key, effect in wanted:
        if (key, effect) not in present:
            kept.append({"key": key, "effect": effect,
                         **({"timeAdded": now} if effect == NO_EXECUTE else {})})
    return kept
