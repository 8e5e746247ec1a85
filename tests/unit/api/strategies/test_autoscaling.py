"""HorizontalPodAutoscaler defaults and validation, with kube-apiserver's paths and messages."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.api.strategies.helpers import causes, defaulted


def hpa(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "maxReplicas": 3}
    base.update(spec)
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "default"}, "spec": base}


def cpu(**target: Any) -> list[dict[str, Any]]:
    return [{"type": "Resource", "resource": {"name": "cpu", "target": target}}]


def test_defaults() -> None:
    spec = defaulted("autoscaling", hpa())["spec"]
    assert spec["minReplicas"] == 1
    assert spec["metrics"] == cpu(type="Utilization", averageUtilization=80)
    assert "behavior" not in spec
    behavior = defaulted("autoscaling", hpa(behavior={"scaleDown": {
        "stabilizationWindowSeconds": 60}}))["spec"]["behavior"]
    assert behavior["scaleDown"] == {"stabilizationWindowSeconds": 60, "selectPolicy": "Max",
                                     "policies": [{"type": "Percent", "value": 100,
                                                   "periodSeconds": 15}]}
    assert [p["type"] for p in behavior["scaleUp"]["policies"]] == ["Pods", "Percent"]


def test_a_valid_autoscaler() -> None:
    assert causes("autoscaling", hpa(metrics=cpu(type="Utilization", averageUtilization=50))) \
        == []


@pytest.mark.parametrize(("spec", "expected"), [
    ({"maxReplicas": 0}, ["spec.maxReplicas: Invalid value: 0: must be greater than 0"]),
    ({"minReplicas": 4}, ["spec.maxReplicas: Invalid value: 3: must be greater than or equal "
                          "to `minReplicas`"]),
    ({"minReplicas": 0}, ["spec.minReplicas: Invalid value: 0: must be greater than or equal "
                          "to 1"]),
    ({"scaleTargetRef": {"kind": "Deployment"}}, ["spec.scaleTargetRef.name: Required value"]),
    ({"metrics": cpu(type="Utilization", averageUtilization=0)}, [
        "spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be "
        "greater than 0"]),
    ({"metrics": cpu(type="AverageValue")}, [
        "spec.metrics[0].resource.target.averageUtilization: Required value: must set either "
        "a target raw value or a target utilization"]),
    ({"metrics": cpu(type="Percent", averageValue="-1")}, [
        'spec.metrics[0].resource.target.type: Invalid value: "Percent": must be either '
        "Utilization, Value, or AverageValue",
        'spec.metrics[0].resource.target.averageValue: Invalid value: "-1": must be positive']),
    ({"metrics": [{"type": "Pods"}]}, [
        "spec.metrics[0].pods: Required value: must populate information for the given "
        "metric source"]),
    ({"metrics": [{"type": "Magic"}]}, [
        'spec.metrics[0].type: Unsupported value: "Magic": supported values: '
        '"ContainerResource", "External", "Object", "Pods", "Resource"']),
    ({"behavior": {"scaleUp": {"policies": [{"type": "Pods", "value": 1,
                                             "periodSeconds": 3600}]}}}, [
        "spec.behavior.scaleUp.policies[0].periodSeconds: Invalid value: 3600: must be less "
        "than or equal to 1800"]),
    ({"behavior": {"scaleDown": {"policies": []}}}, [
        "spec.behavior.scaleDown.policies: Required value: must specify at least one Policy"]),
])
def test_invalid(spec: dict[str, Any], expected: list[str]) -> None:
    assert causes("autoscaling", hpa(**spec)) == expected
