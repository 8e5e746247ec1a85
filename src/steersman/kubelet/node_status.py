"""Pure builders shared by every node agent: conditions, the heartbeat patch, the Lease.

Both the hollow nodes and the real agent post what a kubelet posts
(``pkg/kubelet/nodestatus/setters.go``): the four kubelet conditions with kubelet's reasons
and messages plus NetworkUnavailable, and a Lease in ``kube-node-lease`` owned by the Node.
Nothing here does I/O or reads the clock: callers pass ``now``.
"""

from __future__ import annotations

import uuid
from typing import Any

from steersman.api.meta import micro_time

Object = dict[str, Any]

KUBELET_VERSION = "v1.32.4"
KUBELET_PORT = 10250
LEASE_NAMESPACE = "kube-node-lease"
_NAMESPACE_UUID = uuid.UUID("5f6c2f4e-8a1b-4d0e-9c3a-2b7e6d1f0a94")

# (type, status, reason, message) — kubelet's wording; NetworkUnavailable is the route
# controller's, as kwok posts it.
_CONDITIONS = (
    ("NetworkUnavailable", "False", "RouteCreated", "RouteController created a route"),
    ("MemoryPressure", "False", "KubeletHasSufficientMemory",
     "kubelet has sufficient memory available"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
)


def machine_id(name: str) -> str:
    """A stable machine ID (32 hex digits, like /etc/machine-id) derived from the name."""
    return uuid.uuid5(_NAMESPACE_UUID, name).hex


def node_conditions(now: str, *, since: str | None = None) -> list[Object]:
    """The healthy conditions, heartbeat ``now``; ``since`` keeps the transition times."""
    return [{"type": kind, "status": status, "reason": reason, "message": message,
             "lastHeartbeatTime": now, "lastTransitionTime": since or now}
            for kind, status, reason, message in _CONDITIONS]


def heartbeat_patch(now: str, since: str) -> Object:
    """The merge patch of a periodic status refresh: the conditions, heartbeat ``now``."""
    return {"status": {"conditions": node_conditions(now, since=since)}}


def build_lease(name: str, *, node_uid: str, duration_seconds: int, now_seconds: float,
                resource_version: str = "") -> Object:
    """The node's Lease in ``kube-node-lease``, owned by its Node, renewed at ``now``."""
    metadata: Object = {"name": name, "namespace": LEASE_NAMESPACE}
    if node_uid:
        metadata["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": name,
                                        "uid": node_uid}]
    if resource_version:
        metadata["resourceVersion"] = resource_version
    return {
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": metadata,
        "spec": {"holderIdentity": name, "leaseDurationSeconds": duration_seconds,
                 "renewTime": micro_time(now_seconds)},
    }
