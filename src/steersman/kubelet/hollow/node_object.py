"""Pure builders for what a hollow node writes: its Node object, its status, its Lease.

Nothing here does I/O or reads the clock: callers pass the time (``now`` as an RFC 3339
string, or seconds for the Lease's MicroTime) and the per-node identity
(:class:`NodeIdentity`). The shapes follow what a kubelet registers
(``pkg/kubelet/kubelet_node_status.go``): the well-known labels, capacity = allocatable,
the four kubelet conditions with kubelet's reasons and messages plus NetworkUnavailable,
InternalIP and Hostname addresses, a complete ``nodeInfo`` (the Python client's strict
models require every field) and the kubelet endpoint port.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from steersman.api.meta import micro_time
from steersman.kubelet.hollow.config import HollowConfig

Object = dict[str, Any]

KUBELET_VERSION = "v1.32.4"
RUNTIME_VERSION = "steersman-hollow://0.1"
KERNEL_VERSION = "6.1.0-hollow"
OS_IMAGE = "steersman hollow node"
KUBELET_PORT = 10250
INSTANCE_TYPE = "hollow"
LEASE_NAMESPACE = "kube-node-lease"
_NAMESPACE_UUID = uuid.UUID("5f6c2f4e-8a1b-4d0e-9c3a-2b7e6d1f0a94")

# (type, status, reason, message) — kubelet's wording (pkg/kubelet/nodestatus/setters.go);
# NetworkUnavailable is the route controller's, as kwok posts it.
_CONDITIONS = (
    ("NetworkUnavailable", "False", "RouteCreated", "RouteController created a route"),
    ("MemoryPressure", "False", "KubeletHasSufficientMemory",
     "kubelet has sufficient memory available"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
)


@dataclass(frozen=True, slots=True)
class NodeIdentity:
    """Who one hollow node is: its name, address, pod range and boot."""

    name: str
    internal_ip: str
    pod_cidr: str
    boot_id: str


def machine_id(name: str) -> str:
    """A stable machine ID (32 hex digits, like /etc/machine-id) derived from the name."""
    return uuid.uuid5(_NAMESPACE_UUID, name).hex


def node_labels(config: HollowConfig, name: str) -> dict[str, str]:
    """The labels a kubelet sets on its Node, then the ``--labels`` of the process."""
    arch = config.architecture
    return {
        "beta.kubernetes.io/arch": arch, "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": arch, "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": INSTANCE_TYPE, **config.labels,
    }


def node_conditions(now: str, *, since: str | None = None) -> list[Object]:
    """The healthy conditions, heartbeat ``now``; ``since`` keeps the transition times."""
    return [{"type": kind, "status": status, "reason": reason, "message": message,
             "lastHeartbeatTime": now, "lastTransitionTime": since or now}
            for kind, status, reason, message in _CONDITIONS]


def node_info(config: HollowConfig, identity: NodeIdentity) -> Object:
    """``status.nodeInfo`` with every field the clients require."""
    machine = machine_id(identity.name)
    return {
        "architecture": config.architecture, "bootID": identity.boot_id,
        "containerRuntimeVersion": RUNTIME_VERSION, "kernelVersion": KERNEL_VERSION,
        "kubeProxyVersion": KUBELET_VERSION, "kubeletVersion": KUBELET_VERSION,
        "machineID": machine, "operatingSystem": "linux", "osImage": OS_IMAGE,
        "systemUUID": str(uuid.UUID(machine)),
    }


def node_status(config: HollowConfig, identity: NodeIdentity, now: str) -> Object:
    """The full status a hollow node posts when it registers or resumes."""
    capacity = {"cpu": config.cpu, "memory": config.memory, "pods": str(config.pods),
                "ephemeral-storage": "100Gi", "hugepages-1Gi": "0", "hugepages-2Mi": "0"}
    return {
        "capacity": capacity, "allocatable": dict(capacity),
        "conditions": node_conditions(now),
        "addresses": [{"type": "InternalIP", "address": identity.internal_ip},
                      {"type": "Hostname", "address": identity.name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": KUBELET_PORT}},
        "nodeInfo": node_info(config, identity),
    }


def build_node(config: HollowConfig, identity: NodeIdentity, now: str) -> Object:
    """The Node object a hollow node registers with (status included, as kubelets do)."""
    spec: Object = {"podCIDR": identity.pod_cidr, "podCIDRs": [identity.pod_cidr]}
    if config.taints:
        spec["taints"] = [dict(taint) for taint in config.taints]
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": identity.name, "labels": node_labels(config, identity.name),
                     "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
        "spec": spec,
        "status": node_status(config, identity, now),
    }


def resumed_node(existing: Object, config: HollowConfig, identity: NodeIdentity,
                 now: str) -> Object:
    """``existing`` with a fresh status: labels, taints and the rest of the spec are kept."""
    return {**existing, "status": node_status(config, identity, now)}


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
