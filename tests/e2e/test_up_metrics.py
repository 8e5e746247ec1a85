"""Resource metrics on ``steersman up``: ``kubectl top`` and a HorizontalPodAutoscaler.

One ``steersman up`` (process runtime) for the module. The node agent serves its usage at
``/metrics/resource``; the API server serves ``metrics.k8s.io`` from it, which ``kubectl top``
reads and the HPA controller scales by. A Deployment whose pod burns a CPU against a 20m
request is autoscaled by ``kubectl autoscale`` (autoscaling/v1, protobuf) to its maximum.
"""

from __future__ import annotations

import json
import re
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config

from tests.e2e.harness import ServerProcess
from tests.e2e.up_cluster import eventually, running_up

BURN = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "burn"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "burn"}},
                 "template": {"metadata": {"labels": {"app": "burn"}}, "spec": {"containers": [
                     {"name": "burn", "image": "busybox",
                      "command": ["sh", "-c", "while :; do :; done"],
                      "resources": {"requests": {"cpu": "20m"}}}]}}}}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_up(tmp_path_factory.mktemp("up") / "data") as running:
        yield running


@pytest.fixture
def namespace(cluster: ServerProcess) -> Iterator[str]:
    name = f"m-{uuid.uuid4().hex[:8]}"
    cluster.kubectl("create", "namespace", name)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


def _rows(output: str) -> list[list[str]]:
    return [line.split() for line in output.strip().splitlines()[1:]]


def test_top_nodes(cluster: ServerProcess) -> None:
    (row,) = _rows(cluster.kubectl("top", "nodes").stdout)
    name, cpu, cpu_percent, memory, memory_percent = row
    assert name.endswith("-node-0")
    assert re.fullmatch(r"\d+m", cpu) and re.fullmatch(r"\d+%", cpu_percent), row
    assert re.fullmatch(r"\d+Mi", memory) and int(memory[:-2]) > 0, row
    assert re.fullmatch(r"\d+%", memory_percent), row


def test_top_pods_and_autoscaling(cluster: ServerProcess, namespace: str) -> None:
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(BURN))
    cluster.kubectl("rollout", "status", "-n", namespace, "deployment/burn", "--timeout=60s")

    def top_shows_the_pod() -> bool:
        out = cluster.kubectl("top", "pods", "-n", namespace, check=False).stdout
        return any(row[0].startswith("burn-") and row[1] != "0m" for row in _rows(out))

    eventually(top_shows_the_pod, 30, "kubectl top pods showing the busy pod")
    (row,) = _rows(cluster.kubectl("top", "pods", "-n", namespace, "--containers").stdout)
    assert row[1] == "burn" and re.fullmatch(r"[1-9]\d*m", row[2]), row

    cluster.kubectl("autoscale", "-n", namespace, "deployment", "burn", "--cpu-percent=50",
                    "--min=1", "--max=2")

    def scaled() -> bool:
        out = cluster.kubectl("get", "deployment", "burn", "-n", namespace, "-o",
                              "jsonpath={.spec.replicas}").stdout
        return out == "2"

    eventually(scaled, 60, "the HPA scaling the busy deployment to its maximum")
    (hpa,) = _rows(cluster.kubectl("get", "hpa", "-n", namespace).stdout)
    assert hpa[:2] == ["burn", "Deployment/burn"]
    assert re.fullmatch(r"\d+%/50%", hpa[3]) and int(hpa[3].split("%")[0]) > 50, hpa
    events = cluster.kubectl("get", "events", "-n", namespace, "--field-selector",
                             "reason=SuccessfulRescale", "-o", "json").stdout
    messages = [e["message"] for e in json.loads(events)["items"]]
    assert "New size: 2; reason: cpu resource utilization (percentage of request) above " \
           "target" in messages
    _check_with_python_client(cluster, namespace)
    cluster.kubectl("delete", "deployment", "burn", "-n", namespace)


def _check_with_python_client(cluster: ServerProcess, namespace: str) -> None:
    api = config.new_client_from_config(config_file=str(cluster.kubeconfig))
    try:
        hpa = client.AutoscalingV2Api(api).read_namespaced_horizontal_pod_autoscaler(
            "burn", namespace)
        status = hpa.status
        assert status is not None and status.last_scale_time is not None
        conditions = {c.type: c.status for c in status.conditions or []}
        assert conditions["ScalingActive"] == "True", conditions
        v1 = client.AutoscalingV1Api(api).read_namespaced_horizontal_pod_autoscaler(
            "burn", namespace)
        assert v1.spec.target_cpu_utilization_percentage == 50
        metrics: Any = client.CustomObjectsApi(api).list_namespaced_custom_object(
            "metrics.k8s.io", "v1beta1", namespace, "pods", label_selector="app=burn")
        assert {c["name"] for item in metrics["items"] for c in item["containers"]} == {"burn"}
    finally:
        api.close()


def test_an_unreachable_node_is_named(cluster: ServerProcess) -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    name = f"ghost-{uuid.uuid4().hex[:6]}"
    cluster.kubectl("create", "-f", "-", input=json.dumps(
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}))
    try:
        cluster.kubectl("patch", "node", name, "--subresource=status", "--type=merge", "-p",
                        json.dumps({"status": {
                            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                            "daemonEndpoints": {"kubeletEndpoint": {"Port": port}}}}))
        single = cluster.kubectl("get", "--raw", f"/apis/metrics.k8s.io/v1beta1/nodes/{name}",
                                 check=False)
        assert single.returncode != 0
        assert f'cannot reach the node agent of node "{name}" at 127.0.0.1:{port}' \
            in single.stderr
        rows = {row[0]: row for row in _rows(cluster.kubectl("top", "nodes").stdout)}
        assert rows[name][1:] == ["<unknown>"] * 4  # the other node still answers
        missing = cluster.kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes/nope",
                                  check=False)
        assert 'nodes.metrics.k8s.io "nope" not found' in missing.stderr
    finally:
        cluster.kubectl("delete", "node", name)


def test_an_invalid_autoscaler_is_refused(cluster: ServerProcess, namespace: str) -> None:
    invalid = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
               "metadata": {"name": "bad"},
               "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                           "name": "web"}, "minReplicas": 3, "maxReplicas": 2}}
    result = cluster.kubectl("create", "-n", namespace, "-f", "-", input=json.dumps(invalid),
                             check=False)
    assert result.returncode != 0
    assert "spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`" \
        in result.stderr
    v1 = cluster.kubectl("autoscale", "-n", namespace, "deployment", "nothing-here",
                         "--max=2", check=False)
    assert 'deployments.apps "nothing-here" not found' in v1.stderr
