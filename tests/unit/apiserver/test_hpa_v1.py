"""autoscaling/v1 HPAs as a converted view of stored v2 objects, both ways."""

from __future__ import annotations

from typing import Any

from steersman.apiserver.hpa_v1 import to_v1, to_v2

V2: dict[str, Any] = {
    "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
             "minReplicas": 1, "maxReplicas": 4, "metrics": [
                 {"type": "Resource", "resource": {"name": "cpu", "target": {
                     "type": "Utilization", "averageUtilization": 50}}},
                 {"type": "Resource", "resource": {"name": "memory", "target": {
                     "type": "AverageValue", "averageValue": "100Mi"}}}],
             "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}},
    "status": {"currentReplicas": 2, "desiredReplicas": 3, "currentMetrics": [
        {"type": "Resource", "resource": {"name": "cpu", "current": {
            "averageUtilization": 120, "averageValue": "24m"}}}],
        "conditions": [{"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale",
                        "message": "m", "lastTransitionTime": "2026-11-29T00:00:00Z"}]},
}


def test_v2_reads_as_v1() -> None:
    v1 = to_v1(V2)
    assert v1["apiVersion"] == "autoscaling/v1"
    assert v1["spec"] == {"scaleTargetRef": V2["spec"]["scaleTargetRef"], "minReplicas": 1,
                          "maxReplicas": 4, "targetCPUUtilizationPercentage": 50}
    assert v1["status"] == {"currentReplicas": 2, "desiredReplicas": 3,
                            "currentCPUUtilizationPercentage": 120}
    annotations = v1["metadata"]["annotations"]
    assert set(annotations) == {"autoscaling.alpha.kubernetes.io/metrics",
                                "autoscaling.alpha.kubernetes.io/behavior",
                                "autoscaling.alpha.kubernetes.io/conditions"}
    assert V2["spec"]["metrics"][1]["resource"]["name"] == "memory"  # the input is untouched


def test_a_v1_round_trip_keeps_what_v1_cannot_say() -> None:
    back = to_v2(to_v1(V2))
    assert back["spec"] == V2["spec"]
    assert "annotations" not in back["metadata"]
    assert back["status"]["conditions"] == V2["status"]["conditions"]


def test_kubectl_autoscale_body() -> None:
    created = to_v2({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
                     "metadata": {"name": "web"},
                     "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                                 "name": "web"}, "maxReplicas": 3,
                              "targetCPUUtilizationPercentage": 80}})
    assert created["apiVersion"] == "autoscaling/v2"
    assert created["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
    assert "targetCPUUtilizationPercentage" not in created["spec"]
