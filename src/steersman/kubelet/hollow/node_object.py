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

from steersman.kubelet.hollow.config import ZONE_LABEL, HollowConfig
from steersman.kubelet.node_status import (
    KUBELET_PORT,
    KUBELET_VERSION,
    LEASE_NAMESPACE,
    build_lease,
    heartbeat_patch,
    machine_id,
    node_conditions,
)

Object = dict[str, Any]

RUNTIME_VERSION = "steersman-hollow://0.1"
KERNEL_VERSION = "6.1.0-hollow"
OS_IMAGE = "steersman hollow node"
INSTANCE_TYPE = "hollow"

__all__ = ["KUBELET_PORT", "KUBELET_VERSION", "LEASE_NAMESPACE", "NodeIdentity", "build_lease",
           "build_node", "heartbeat_patch", "machine_id", "node_conditions", "node_info",
           "node_labels", "node_status", "resumed_node"]


@dataclass(frozen=True, slots=True)
class NodeIdentity:
    """Who one hollow node is: its name, address, pod range and boot."""

    name: str
    internal_ip: str
    pod_cidr: str
    boot_id: str
    zone: str = ""


def node_labels(config: HollowConfig, identity: NodeIdentity) -> dict[str, str]:
    """The labels a kubelet sets on its Node (the zone, as a cloud provider's would, when
    the node has one), then the ``--labels`` of the process."""
    arch = config.architecture
    zone = {ZONE_LABEL: identity.zone} if identity.zone else {}
    return {
        "beta.kubernetes.io/arch": arch, "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": arch, "kubernetes.io/hostname": identity.name,
        "kubernetes.io/os": "linux", "node.kubernetes.io/instance-type": INSTANCE_TYPE,
        **zone, **config.labels,
    }


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
        "metadata": {"name": identity.name, "labels": node_labels(config, identity),
                     "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
        "spec": spec,
        "status": node_status(config, identity, now),
    }


def resumed_node(existing: Object, config: HollowConfig, identity: NodeIdentity,
                 now: str) -> Object:
    """``existing`` with a fresh status: labels, taints and the rest of the spec are kept."""
    return {**existing, "status": node_status(config, identity, now)}


