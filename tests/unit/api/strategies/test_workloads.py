"""Deployment, ReplicaSet, StatefulSet, DaemonSet and ReplicationController strategies."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.api.strategies.helpers import causes, defaulted, message, update_causes

TEMPLATE_SPEC_DEFAULTS = {
    "containers": [{
        "name": "nginx", "image": "nginx:1.27", "imagePullPolicy": "IfNotPresent",
        "ports": [{"containerPort": 80, "protocol": "TCP"}], "resources": {},
        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
    }],
    "dnsPolicy": "ClusterFirst", "restartPolicy": "Always", "schedulerName": "default-scheduler",
    "securityContext": {}, "terminationGracePeriodSeconds": 30,
}


def workload(kind: str, labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    labels = {"app": "web"} if labels is None else labels
    body: dict[str, Any] = {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": labels}, "spec": {
            "containers": [{"name": "nginx", "image": "nginx:1.27",
                            "ports": [{"containerPort": 80}]}]}},
    }
    body.update(spec)
    return {"apiVersion": "apps/v1", "kind": kind,
            "metadata": {"name": "web", "namespace": "default"}, "spec": body}


def test_deployment_defaults_match_what_a_real_cluster_returns() -> None:
    assert defaulted("apps", workload("Deployment"))["spec"] == {
        "progressDeadlineSeconds": 600,
        "replicas": 1,
        "revisionHistoryLimit": 10,
        "selector": {"matchLabels": {"app": "web"}},
        "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
                     "type": "RollingUpdate"},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": TEMPLATE_SPEC_DEFAULTS},
    }


def test_statefulset_and_daemonset_defaults() -> None:
    sts = defaulted("apps", workload("StatefulSet", serviceName="web"))["spec"]
    assert sts["podManagementPolicy"] == "OrderedReady"
    assert sts["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert sts["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain",
                                                           "whenScaled": "Retain"}
    assert (sts["replicas"], sts["revisionHistoryLimit"]) == (1, 10)
    ds = defaulted("apps", workload("DaemonSet"))["spec"]
    assert ds["updateStrategy"] == {"type": "RollingUpdate",
                                    "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    assert ds["revisionHistoryLimit"] == 10
    assert "replicas" not in ds


def test_replication_controller_selector_defaults_to_template_labels() -> None:
    rc = workload("ReplicationController")
    rc["apiVersion"] = "v1"
    del rc["spec"]["selector"]
    out = defaulted("", rc)
    assert out["spec"]["selector"] == {"app": "web"}
    assert out["metadata"]["labels"] == {"app": "web"}
    assert out["spec"]["replicas"] == 1


@pytest.mark.parametrize("kind", ["Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"])
def test_selector_must_match_template_labels(kind: str) -> None:
    bad = workload(kind, labels={"app": "other"})
    assert causes("apps", bad) == [
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"other"}: '
        "`selector` does not match template `labels`"]


def test_deployment_message_as_kubectl_prints_it() -> None:
    bad = workload("Deployment")
    del bad["spec"]["selector"]
    assert message("apps", bad) == 'Deployment "web" is invalid: spec.selector: Required value'


@pytest.mark.parametrize(("spec", "expected"), [
    ({"replicas": -1}, ["spec.replicas: Invalid value: -1: must be greater than or equal to 0"]),
    ({"selector": {}}, ["spec.selector: Invalid value: v1.LabelSelector{MatchLabels:"
                        "map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement"
                        "(nil)}: empty selector is invalid for deployment"]),
    ({"strategy": {"type": "Blue"}},
     ['spec.strategy.type: Unsupported value: "Blue": supported values: "Recreate", '
      '"RollingUpdate"']),
    ({"strategy": {"type": "RollingUpdate",
                   "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}}},
     ['spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, '
      'IntVal:0, StrVal:""}: may not be 0 when `maxSurge` is 0']),
    ({"strategy": {"type": "Recreate", "rollingUpdate": {}}},
     ["spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is "
      "'Recreate'"]),
])
def test_deployment_validation(spec: dict[str, Any], expected: list[str]) -> None:
    assert causes("apps", workload("Deployment", **spec)) == expected


def test_template_must_restart_always() -> None:
    bad = workload("ReplicaSet")
    bad["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    assert causes("apps", bad) == [
        'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"']


def test_selector_is_immutable_in_apps_v1() -> None:
    old = workload("Deployment")
    new = workload("Deployment", labels={"app": "web2"},
                   selector={"matchLabels": {"app": "web2"}})
    assert update_causes("apps", new, old) == [
        'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":'
        '"web2"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable']
    assert update_causes("apps", workload("Deployment", replicas=5), old) == []


def test_statefulset_update_rule() -> None:
    old = workload("StatefulSet", serviceName="web")
    assert update_causes("apps", workload("StatefulSet", serviceName="web", replicas=3), old) == []
    assert update_causes("apps", workload("StatefulSet", serviceName="db"), old) == [
        "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', "
        "'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', "
        "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"]
