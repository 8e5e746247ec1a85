"""Namespace, Node, storage, quota, priority, lease, networking and RBAC strategies."""

from __future__ import annotations

from typing import Any

import pytest

from steersman.api.strategies import strategy_for
from steersman.api.strategy import NoStrategy
from tests.unit.api.strategies.helpers import causes, defaulted, update_causes


def test_namespace_defaults() -> None:
    out = defaulted("", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dev"}})
    assert out["metadata"]["labels"] == {"kubernetes.io/metadata.name": "dev"}
    assert out["spec"] == {"finalizers": ["kubernetes"]}
    assert out["status"] == {"phase": "Active"}


def test_namespace_name_is_a_dns_label() -> None:
    got = causes("", {"kind": "Namespace", "metadata": {"name": "a.b"}})
    assert got == ['metadata.name: Invalid value: "a.b": must not contain dots']


def test_node_allocatable_defaults_to_capacity_as_strings() -> None:
    node = {"kind": "Node", "metadata": {"name": "n1"},
            "status": {"capacity": {"cpu": 4, "memory": "8Gi", "pods": 110}}}
    out = defaulted("", node)
    assert out["status"]["allocatable"] == {"cpu": "4", "memory": "8Gi", "pods": "110"}


def test_node_taints() -> None:
    node = {"kind": "Node", "metadata": {"name": "n1"},
            "spec": {"taints": [{"key": "k", "effect": "Sometimes"}]}}
    assert causes("", node) == [
        'spec.taints[0].effect: Unsupported value: "Sometimes": supported values: "NoSchedule", '
        '"PreferNoSchedule", "NoExecute"']


def test_persistent_volume_claim() -> None:
    pvc = {"kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
           "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": 1}}}}
    out = defaulted("", pvc)
    assert out["spec"]["volumeMode"] == "Filesystem"
    assert out["spec"]["resources"]["requests"]["storage"] == "1"
    assert out["status"] == {"phase": "Pending"}
    assert causes("", {**pvc, "spec": {"accessModes": []}}) == [
        "spec.accessModes: Required value", "spec.resources[storage]: Required value"]
    grown = {**pvc, "spec": {**pvc["spec"], "resources": {"requests": {"storage": "2Gi"}}}}
    assert update_causes("", grown, pvc) == []


def test_limit_range_container_defaults() -> None:
    lr = {"kind": "LimitRange", "metadata": {"name": "l"}, "spec": {"limits": [
        {"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "64Mi"}}]}}
    item = defaulted("", lr)["spec"]["limits"][0]
    assert item["default"] == {"cpu": "2"}
    assert item["defaultRequest"] == {"cpu": "2", "memory": "64Mi"}


def test_lease_and_priority_class() -> None:
    lease = {"kind": "Lease", "metadata": {"name": "n1"}, "spec": {"leaseDurationSeconds": 0}}
    assert causes("coordination.k8s.io", lease) == [
        "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"]
    pc = {"kind": "PriorityClass", "metadata": {"name": "high"}, "value": 1000}
    assert defaulted("scheduling.k8s.io", pc)["preemptionPolicy"] == "PreemptLowerPriority"
    assert update_causes("scheduling.k8s.io", {**pc, "value": 5}, pc) == [
        "value: Forbidden: may not be changed in an update."]


@pytest.mark.parametrize(("group", "obj", "expected"), [
    ("policy", {"kind": "PodDisruptionBudget", "metadata": {"name": "p"},
                "spec": {"minAvailable": 1, "maxUnavailable": 1}},
     ["spec: Invalid value: policy.PodDisruptionBudgetSpec{...}: minAvailable and "
      "maxUnavailable cannot be both set"]),
    ("networking.k8s.io", {"kind": "Ingress", "metadata": {"name": "i"}, "spec": {"rules": [
        {"host": "a.example.com", "http": {"paths": [
            {"path": "/", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}},
     ["spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified"]),
    ("networking.k8s.io", {"kind": "NetworkPolicy", "metadata": {"name": "n"},
                           "spec": {"podSelector": {}, "ingress": [{"from": [{}]}]}},
     ["spec.ingress[0].from[0]: Required value: must specify a peer"]),
    ("rbac.authorization.k8s.io", {"kind": "Role", "metadata": {"name": "r"},
                                   "rules": [{"apiGroups": [""], "resources": ["pods"]}]},
     ["rules[0].verbs: Required value: verbs must contain at least one value"]),
    ("rbac.authorization.k8s.io", {"kind": "ClusterRoleBinding", "metadata": {"name": "b"},
                                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                               "kind": "Role", "name": "r"},
                                   "subjects": [{"kind": "ServiceAccount", "name": "sa"}]},
     ['roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"',
      "subjects[0].namespace: Required value"]),
])
def test_other_kinds(group: str, obj: dict[str, Any], expected: list[str]) -> None:
    assert causes(group, obj) == expected


def test_role_binding_role_ref_is_immutable() -> None:
    ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "a"}
    old = {"kind": "RoleBinding", "metadata": {"name": "b"}, "roleRef": ref}
    new = {**old, "roleRef": {**ref, "name": "b"}}
    assert update_causes("rbac.authorization.k8s.io", new, old) == [
        'roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", '
        'Kind:"Role", Name:"b"}: cannot change roleRef']


def test_kinds_without_rules_get_no_strategy() -> None:
    assert isinstance(strategy_for("storage.k8s.io", "CSIDriver"), NoStrategy)
    assert not isinstance(strategy_for("apps", "Deployment"), NoStrategy)
