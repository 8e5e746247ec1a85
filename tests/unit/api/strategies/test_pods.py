"""Pod defaulting, validation, update rules and QoS class against kube-apiserver's output."""

from __future__ import annotations

from typing import Any

import pytest

from steersman.api.strategies import qos_class
from tests.unit.api.strategies.helpers import causes, defaulted, message, update_causes

DNS_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
    "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)


def pod(**spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"containers": [{"name": "app", "image": "nginx"}]}
    body.update(spec)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
            "spec": body}


def container(**fields: Any) -> dict[str, Any]:
    return {"name": "app", "image": "nginx", **fields}


def test_minimal_pod_defaults_match_a_real_cluster() -> None:
    out = defaulted("", pod())
    assert out["spec"] == {
        "containers": [{
            "name": "app", "image": "nginx", "imagePullPolicy": "Always", "resources": {},
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
        }],
        "dnsPolicy": "ClusterFirst", "enableServiceLinks": True,
        "preemptionPolicy": "PreemptLowerPriority", "priority": 0,
        "restartPolicy": "Always", "schedulerName": "default-scheduler",
        "securityContext": {}, "terminationGracePeriodSeconds": 30,
    }
    assert out["status"] == {"phase": "Pending", "qosClass": "BestEffort"}


@pytest.mark.parametrize(("image", "policy"), [
    ("nginx", "Always"), ("nginx:latest", "Always"), ("nginx:1.27", "IfNotPresent"),
    ("registry:5000/team/app", "Always"), ("registry:5000/app:v1", "IfNotPresent"),
    ("app@sha256:abc", "IfNotPresent"),
])
def test_image_pull_policy_follows_the_tag(image: str, policy: str) -> None:
    out = defaulted("", pod(containers=[container(image=image)]))
    assert out["spec"]["containers"][0]["imagePullPolicy"] == policy


def test_nested_defaults_ports_probes_env_and_volumes() -> None:
    c = container(
        ports=[{"containerPort": 80}],
        livenessProbe={"httpGet": {"port": 80}},
        env=[{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
        volumeMounts=[{"name": "cfg", "mountPath": "/cfg"}],
    )
    out = defaulted("", pod(containers=[c], volumes=[
        {"name": "cfg", "configMap": {"name": "cfg"}}, {"name": "scratch"}]))
    got = out["spec"]["containers"][0]
    assert got["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert got["livenessProbe"] == {
        "httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1,
        "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}
    assert got["env"][0]["valueFrom"]["fieldRef"]["apiVersion"] == "v1"
    assert out["spec"]["volumes"] == [
        {"name": "cfg", "configMap": {"name": "cfg", "defaultMode": 420}},
        {"name": "scratch", "emptyDir": {}}]


def test_requests_default_from_limits_and_quantities_become_strings() -> None:
    out = defaulted("", pod(containers=[container(
        resources={"limits": {"cpu": 1, "memory": "128Mi"}})]))
    assert out["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "1", "memory": "128Mi"}, "requests": {"cpu": "1", "memory": "128Mi"}}
    assert out["status"]["qosClass"] == "Guaranteed"


@pytest.mark.parametrize(("resources", "expected"), [
    ([{}], "BestEffort"),
    ([{"requests": {"cpu": "100m"}}], "Burstable"),
    ([{"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}}],
     "Guaranteed"),
    ([{"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m", "memory": "1Gi"}}],
     "Burstable"),
    ([{"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}}, {}],
     "Burstable"),
])
def test_qos_class(resources: list[dict[str, Any]], expected: str) -> None:
    containers = [container(name=f"c{i}", resources=r) for i, r in enumerate(resources)]
    assert qos_class(pod(containers=containers)) == expected


@pytest.mark.parametrize(("spec", "expected"), [
    ({"containers": []}, ["spec.containers: Required value"]),
    ({"containers": [{"name": "app"}]}, ["spec.containers[0].image: Required value"]),
    ({"containers": [container(), container()]},
     ['spec.containers[1].name: Duplicate value: "app"']),
    ({"containers": [container(name="App")]},
     [f'spec.containers[0].name: Invalid value: "App": {DNS_LABEL_MSG}']),
    ({"containers": [container(ports=[{"containerPort": 70000}])]},
     ["spec.containers[0].ports[0].containerPort: Invalid value: 70000: "
      "must be between 1 and 65535, inclusive"]),
    ({"containers": [container(ports=[{"containerPort": 80, "protocol": "HTTP"}])]},
     ['spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": '
      'supported values: "SCTP", "TCP", "UDP"']),
    ({"containers": [container(ports=[{"containerPort": 80, "name": "web"},
                                      {"containerPort": 81, "name": "web"}])]},
     ['spec.containers[0].ports[1].name: Duplicate value: "web"']),
    ({"containers": [container()], "restartPolicy": "Sometimes"},
     ['spec.restartPolicy: Unsupported value: "Sometimes": '
      'supported values: "Always", "OnFailure", "Never"']),
    ({"containers": [container(env=[{"name": "A=B"}])]},
     ['spec.containers[0].env[0].name: Invalid value: "A=B": a valid environment variable name '
      "must consist only of printable ASCII characters other than '='"]),
    ({"containers": [container(volumeMounts=[{"name": "data", "mountPath": "/d"}])]},
     ['spec.containers[0].volumeMounts[0].name: Not found: "data"']),
    ({"containers": [container()], "volumes": [{"name": "v", "emptyDir": {},
                                                "hostPath": {"path": "/x"}}]},
     ["spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type"]),
    ({"containers": [container()], "volumes": [{"name": "v", "emptyDir": {}},
                                               {"name": "v", "emptyDir": {}}]},
     ['spec.volumes[1].name: Duplicate value: "v"']),
    ({"containers": [container(resources={"requests": {"cpu": "2"}, "limits": {"cpu": "1"}})]},
     ['spec.containers[0].resources.requests: Invalid value: "2": '
      "must be less than or equal to cpu limit of 1"]),
    ({"containers": [container(readinessProbe={"periodSeconds": 5})]},
     ["spec.containers[0].readinessProbe: Required value: must specify a handler type"]),
    ({"containers": [container(livenessProbe={"exec": {"command": ["true"]},
                                              "tcpSocket": {"port": 80}})]},
     ["spec.containers[0].livenessProbe.tcpSocket: Forbidden: "
      "may not specify more than 1 handler type"]),
    ({"containers": [container(readinessProbe={"grpc": {"service": "shop.Cart"}})]},
     ["spec.containers[0].readinessProbe.grpc.port: Invalid value: 0: "
      "must be between 1 and 65535, inclusive"]),
    ({"containers": [container(livenessProbe={"grpc": {"port": 65536}})]},
     ["spec.containers[0].livenessProbe.grpc.port: Invalid value: 65536: "
      "must be between 1 and 65535, inclusive"]),
])
def test_pod_validation_messages(spec: dict[str, Any], expected: list[str]) -> None:
    assert causes("", {"kind": "Pod", "metadata": {"name": "p"}, "spec": spec}) == expected


def test_kubectl_reads_the_upstream_sentence() -> None:
    bad = pod(containers=[{"name": "app"}])
    assert message("", bad) == 'Pod "p" is invalid: spec.containers[0].image: Required value'


def test_pod_name_and_labels() -> None:
    bad = pod()
    bad["metadata"] = {"name": "Bad_Name", "labels": {"app": "-x"}}
    got = causes("", bad)
    assert got[0].startswith('metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 '
                             "subdomain must consist of")
    assert got[1].startswith('metadata.labels: Invalid value: "-x": a valid label must be an '
                             "empty string or consist of")


def test_pod_update_allows_image_and_forbids_the_rest() -> None:
    old = pod(containers=[container(image="nginx:1.26")])
    new_image = pod(containers=[container(image="nginx:1.27")])
    assert update_causes("", new_image, old) == []
    new_port = pod(containers=[container(image="nginx:1.26", ports=[{"containerPort": 80}])])
    assert update_causes("", new_port, old) == [
        "spec: Forbidden: pod updates may not change fields other than "
        "`spec.containers[*].image`,`spec.initContainers[*].image`,"
        "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing "
        "tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
        "previously negative)"]


def test_pod_update_tolerations_and_deadline() -> None:
    tol = {"key": "k", "operator": "Exists", "effect": "NoSchedule"}
    old = pod(tolerations=[tol], activeDeadlineSeconds=60)
    added = pod(tolerations=[tol, {"key": "j", "operator": "Exists"}], activeDeadlineSeconds=30)
    assert update_causes("", added, old) == []
    raised = pod(tolerations=[tol], activeDeadlineSeconds=90)
    assert update_causes("", raised, old) == [
        "spec.activeDeadlineSeconds: Invalid value: 90: "
        "must be less than or equal to previous value"]
