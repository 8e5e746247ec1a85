"""The Node, status and Lease a hollow node writes: complete enough for strict clients."""

from __future__ import annotations

import random

from steersman.kubelet.hollow.config import HollowConfig
from steersman.kubelet.hollow.node_object import (
    NodeIdentity,
    build_lease,
    build_node,
    heartbeat_patch,
    machine_id,
    resumed_node,
)
from steersman.kubelet.hollow.registration import new_hollow_node

NOW = "2026-01-02T03:04:05Z"
IDENTITY = NodeIdentity("hollow-3", "127.42.3.1", "127.42.3.0/24", "boot-1")
REQUIRED_NODE_INFO = {"architecture", "bootID", "containerRuntimeVersion", "kernelVersion",
                      "kubeProxyVersion", "kubeletVersion", "machineID", "operatingSystem",
                      "osImage", "systemUUID"}


def config(**overrides: object) -> HollowConfig:
    return HollowConfig(count=4, architecture="amd64", **overrides)  # type: ignore[arg-type]


def test_node_has_kubelet_labels_plus_the_extra_ones() -> None:
    node = build_node(config(labels={"disktype": "ssd"}), IDENTITY, NOW)
    assert node["metadata"]["labels"] == {
        "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": "hollow-3",
        "kubernetes.io/os": "linux", "node.kubernetes.io/instance-type": "hollow",
        "disktype": "ssd"}


def test_node_spec_has_pod_cidr_and_taints() -> None:
    taint = {"key": "dedicated", "value": "x", "effect": "NoSchedule"}
    spec = build_node(config(taints=(taint,)), IDENTITY, NOW)["spec"]
    assert spec == {"podCIDR": "127.42.3.0/24", "podCIDRs": ["127.42.3.0/24"],
                    "taints": [taint]}
    assert "taints" not in build_node(config(), IDENTITY, NOW)["spec"]


def test_node_status_reports_capacity_addresses_and_endpoint() -> None:
    status = build_node(config(cpu="8", memory="32Gi", pods=50), IDENTITY, NOW)["status"]
    assert status["capacity"] == status["allocatable"]
    assert {k: status["capacity"][k] for k in ("cpu", "memory", "pods")} == {
        "cpu": "8", "memory": "32Gi", "pods": "50"}
    assert status["addresses"] == [{"type": "InternalIP", "address": "127.42.3.1"},
                                   {"type": "Hostname", "address": "hollow-3"}]
    assert status["daemonEndpoints"] == {"kubeletEndpoint": {"Port": 10250}}


def test_node_info_is_complete_and_stable() -> None:
    info = build_node(config(), IDENTITY, NOW)["status"]["nodeInfo"]
    assert set(info) == REQUIRED_NODE_INFO
    assert info["kubeletVersion"] == "v1.32.4"
    assert info["containerRuntimeVersion"] == "steersman-hollow://0.1"
    assert info["bootID"] == "boot-1"
    assert info["machineID"] == machine_id("hollow-3") == machine_id("hollow-3")
    assert info["machineID"] != machine_id("hollow-4")
    assert info["systemUUID"].replace("-", "") == info["machineID"]


def test_conditions_are_healthy_with_kubelet_reasons() -> None:
    conditions = build_node(config(), IDENTITY, NOW)["status"]["conditions"]
    by_type = {c["type"]: c for c in conditions}
    assert {t: c["status"] for t, c in by_type.items()} == {
        "NetworkUnavailable": "False", "MemoryPressure": "False", "DiskPressure": "False",
        "PIDPressure": "False", "Ready": "True"}
    assert by_type["Ready"]["reason"] == "KubeletReady"
    assert by_type["Ready"]["message"] == "kubelet is posting ready status"
    assert all(c["lastHeartbeatTime"] == NOW for c in conditions)


def test_heartbeat_moves_heartbeat_time_but_keeps_transition_time() -> None:
    later = "2026-01-02T03:05:05Z"
    conditions = heartbeat_patch(later, NOW)["status"]["conditions"]
    assert all(c["lastHeartbeatTime"] == later and c["lastTransitionTime"] == NOW
               for c in conditions)


def test_resume_replaces_status_and_keeps_labels_and_spec() -> None:
    existing = {"metadata": {"name": "hollow-3", "labels": {"mine": "yes"},
                             "resourceVersion": "7"},
                "spec": {"unschedulable": True}, "status": {"conditions": []}}
    resumed = resumed_node(existing, config(), IDENTITY, NOW)
    assert resumed["metadata"] == existing["metadata"]
    assert resumed["spec"] == {"unschedulable": True}
    assert resumed["status"]["nodeInfo"]["bootID"] == "boot-1"


def test_lease_is_owned_by_its_node_and_renewed_now() -> None:
    lease = build_lease("hollow-3", node_uid="uid-1", duration_seconds=40,
                        now_seconds=1_700_000_000.25, resource_version="12")
    assert lease["metadata"] == {
        "name": "hollow-3", "namespace": "kube-node-lease", "resourceVersion": "12",
        "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "hollow-3",
                             "uid": "uid-1"}]}
    assert lease["spec"] == {"holderIdentity": "hollow-3", "leaseDurationSeconds": 40,
                             "renewTime": "2023-11-14T22:13:20.250000Z"}


def test_new_hollow_node_derives_identity_from_index() -> None:
    node = new_hollow_node(config(), 2, random.Random(1))
    assert node.name == "hollow-2"
    assert node.identity.internal_ip == "127.42.2.1"
    assert node.identity.pod_cidr == "127.42.2.0/24"
    assert node.identity.boot_id != new_hollow_node(config(), 2, random.Random(2)).identity.boot_id


def test_zones_go_round_robin_into_the_zone_label() -> None:
    zoned = config(zones=("a", "b"), labels={"disktype": "ssd"})
    rng = random.Random(1)
    labels = [build_node(zoned, new_hollow_node(zoned, i, rng).identity, NOW)["metadata"]
              ["labels"] for i in range(4)]
    assert [node["topology.kubernetes.io/zone"] for node in labels] == ["a", "b", "a", "b"]
    assert all(node["disktype"] == "ssd" for node in labels)
    unzoned = build_node(config(), new_hollow_node(config(), 0, rng).identity, NOW)
    assert "topology.kubernetes.io/zone" not in unzoned["metadata"]["labels"]
