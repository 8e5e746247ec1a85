"""Server-side apply with the real ``kubectl`` and the ``kubernetes`` Python client.

Field ownership end to end: ``kubectl apply --server-side`` creates and prunes, a
``kubectl scale`` takes ``spec.replicas`` over so that the next apply conflicts until
``--force-conflicts``, managedFields show Apply and Update entries, an object managed by
client-side apply migrates, and the Python client's ``server_side_apply`` is idempotent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config, utils
from kubernetes.client.rest import ApiException
from kubernetes.dynamic import DynamicClient

from tests.e2e.conftest import write
from tests.e2e.harness import ServerProcess

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: c
        image: nginx
        env: [{name: A, value: "1"}, {name: B, value: "2"}]
        ports: [{containerPort: 80}]
"""


def _get(server: ServerProcess, namespace: str, *extra: str) -> dict[str, Any]:
    out = server.kubectl("get", "deployment", "web", "-n", namespace, "-o", "json",
                         "--show-managed-fields", *extra)
    obj: dict[str, Any] = json.loads(out.stdout)
    return obj


def _apply(server: ServerProcess, namespace: str, path: Path, *extra: str,
           check: bool = True) -> Any:
    return server.kubectl("apply", "--server-side", "-n", namespace, "-f", str(path), *extra,
                          check=check)


def _managers(obj: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(e["manager"], e["operation"], e.get("subresource", ""))
            for e in obj["metadata"].get("managedFields", [])}


def test_apply_creates_and_removes_fields_it_no_longer_applies(
        server: ServerProcess, namespace: str, tmp_path: Path) -> None:
    path = write(tmp_path / "web.yaml", DEPLOYMENT)
    assert "serverside-applied" in _apply(server, namespace, path).stdout
    container = _get(server, namespace)["spec"]["template"]["spec"]["containers"][0]
    assert [e["name"] for e in container["env"]] == ["A", "B"]
    write(path, DEPLOYMENT.replace(', {name: B, value: "2"}', ""))
    _apply(server, namespace, path)
    obj = _get(server, namespace)
    assert [e["name"] for e in obj["spec"]["template"]["spec"]["containers"][0]["env"]] == ["A"]
    assert ("kubectl", "Apply", "") in _managers(obj)


def test_scale_takes_replicas_so_apply_conflicts_until_forced(
        server: ServerProcess, namespace: str, tmp_path: Path) -> None:
    path = write(tmp_path / "web.yaml", DEPLOYMENT)
    _apply(server, namespace, path)
    server.kubectl("scale", "deployment/web", "-n", namespace, "--replicas=5")
    write(path, DEPLOYMENT.replace("replicas: 2", "replicas: 3"))
    failed = _apply(server, namespace, path, check=False)
    assert failed.returncode != 0
    assert ('Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" '
            'using apps/v1: .spec.replicas') in failed.stderr
    assert _get(server, namespace)["spec"]["replicas"] == 5
    _apply(server, namespace, path, "--force-conflicts")
    obj = _get(server, namespace)
    assert obj["spec"]["replicas"] == 3
    # The Deployment controller writes status and revision annotations as its own manager.
    assert {m for m in _managers(obj) if m[0] == "kubectl"} == {("kubectl", "Apply", "")}


def test_show_managed_fields_lists_apply_and_update_entries(
        server: ServerProcess, namespace: str, tmp_path: Path) -> None:
    _apply(server, namespace, write(tmp_path / "web.yaml", DEPLOYMENT))
    server.kubectl("label", "deployment/web", "-n", namespace, "tier=front")
    text = server.kubectl("get", "deployment", "web", "-n", namespace, "-o", "yaml",
                          "--show-managed-fields").stdout
    assert "operation: Apply" in text and "operation: Update" in text
    assert 'k:{"containerPort":80,"protocol":"TCP"}' in text
    hidden = server.kubectl("get", "deployment", "web", "-n", namespace, "-o", "yaml").stdout
    assert "managedFields" not in hidden


def test_client_side_apply_migrates_to_server_side(
        server: ServerProcess, namespace: str, tmp_path: Path) -> None:
    path = write(tmp_path / "web.yaml", DEPLOYMENT)
    server.kubectl("apply", "-n", namespace, "-f", str(path))
    assert ("kubectl-client-side-apply", "Update", "") in _managers(_get(server, namespace))
    write(path, DEPLOYMENT.replace("replicas: 2", "replicas: 4"))
    assert "serverside-applied" in _apply(server, namespace, path).stdout
    obj = _get(server, namespace)
    assert obj["spec"]["replicas"] == 4
    assert ("kubectl", "Apply", "") in _managers(obj)
    assert ("kubectl-client-side-apply", "Update", "") not in _managers(obj)


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> Iterator[client.ApiClient]:
    api_client = config.new_client_from_config(config_file=str(server.kubeconfig))
    try:
        yield api_client
    finally:
        api_client.close()


def _config_map(namespace: str, value: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": namespace}, "data": {"k": value}}


def test_python_client_server_side_apply_creates_then_updates(
        api: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)
    utils.create_from_yaml(api, yaml_objects=[_config_map(namespace, "1")], apply=True,
                         namespace=namespace)
    first = core.read_namespaced_config_map("settings", namespace)
    assert first.data == {"k": "1"}
    assert [(m.manager, m.operation) for m in first.metadata.managed_fields] == [
        ("python-client", "Apply")]
    utils.create_from_yaml(api, yaml_objects=[_config_map(namespace, "1")], apply=True,
                         namespace=namespace)
    again = core.read_namespaced_config_map("settings", namespace)
    assert again.metadata.resource_version == first.metadata.resource_version
    configmaps = DynamicClient(api).resources.get(api_version="v1", kind="ConfigMap")
    configmaps.server_side_apply(body=_config_map(namespace, "2"), field_manager="python-client")
    assert core.read_namespaced_config_map("settings", namespace).data == {"k": "2"}


def test_apply_conflict_and_missing_manager_are_statuses(
        api: client.ApiClient, namespace: str) -> None:
    configmaps = DynamicClient(api).resources.get(api_version="v1", kind="ConfigMap")
    configmaps.server_side_apply(body=_config_map(namespace, "1"), field_manager="one")
    with pytest.raises(ApiException) as conflict:
        configmaps.server_side_apply(body=_config_map(namespace, "2"), field_manager="two")
    status = json.loads(conflict.value.body)
    assert (status["code"], status["reason"]) == (409, "Conflict")
    assert status["message"] == 'Apply failed with 1 conflict: conflict with "one": .data.k'
    assert status["details"]["causes"] == [
        {"reason": "FieldManagerConflict", "message": 'conflict with "one"', "field": ".data.k"}]
    forced = configmaps.server_side_apply(body=_config_map(namespace, "2"),
                                          field_manager="two", force_conflicts=True)
    assert forced.to_dict()["data"] == {"k": "2"}
    with pytest.raises(ApiException) as missing:
        configmaps.server_side_apply(body=_config_map(namespace, "3"))
    assert missing.value.status == 422
    assert "fieldManager: Required value: is required for apply patch" in missing.value.body
