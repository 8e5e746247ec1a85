"""CustomResourceDefinitions end to end: the real kubectl and the Python client serve CRs.

One CRD (namespaced, v1 storage + v1beta1 served, status and scale subresources, printer
columns, a short name and a category) is applied once per module; each test uses its own
namespace. Deleting a CRD is tested with a second, throwaway CRD.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from tests.e2e.harness import ServerProcess, start_server

GROUP = "stable.example.com"
SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {"type": "object", "required": ["image"], "properties": {
            "image": {"type": "string", "minLength": 1},
            "replicas": {"type": "integer", "format": "int32", "minimum": 0, "default": 1},
            "size": {"type": "string", "enum": ["small", "large"], "default": "small"},
            "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        }},
        "status": {"type": "object", "properties": {
            "replicas": {"type": "integer"}, "selector": {"type": "string"},
            "phase": {"type": "string"}}},
    },
}


def crd_manifest(plural: str, kind: str, short: str) -> str:
    def version(name: str, storage: bool) -> dict[str, object]:
        return {
            "name": name, "served": True, "storage": storage,
            "schema": {"openAPIV3Schema": SCHEMA},
            "subresources": {"status": {}, "scale": {
                "specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas",
                "labelSelectorPath": ".status.selector"}},
            "additionalPrinterColumns": [
                {"name": "Image", "type": "string", "jsonPath": ".spec.image"},
                {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
                {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}],
        }

    return yaml.safe_dump({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}"},
        "spec": {"group": GROUP, "scope": "Namespaced",
                 "names": {"plural": plural, "singular": kind.lower(), "kind": kind,
                           "shortNames": [short], "categories": ["all"]},
                 "versions": [version("v1beta1", False), version("v1", True)]},
    })


def cr_manifest(namespace: str, name: str, api_version: str = f"{GROUP}/v1",
                **spec: object) -> str:
    return yaml.safe_dump({"apiVersion": api_version, "kind": "CronTab",
                           "metadata": {"name": name, "namespace": namespace},
                           "spec": {"image": "busybox", **spec}})


@pytest.fixture(scope="module")
def crontabs(server: ServerProcess) -> str:
    server.kubectl("apply", "-f", "-", input=crd_manifest("crontabs", "CronTab", "ct"))
    server.kubectl("wait", "--for", "condition=established", "--timeout=30s",
                   f"crd/crontabs.{GROUP}")
    return f"crontabs.{GROUP}"


def get_json(server: ServerProcess, *args: str) -> dict[str, object]:
    result: dict[str, object] = json.loads(server.kubectl("get", *args, "-o", "json").stdout)
    return result


def test_crd_status_and_discovery(server: ServerProcess, crontabs: str) -> None:
    crd = get_json(server, "crd", crontabs)
    status = crd["status"]
    assert isinstance(status, dict)
    conditions = {c["type"]: c["status"] for c in status["conditions"]}
    assert conditions == {"NamesAccepted": "True", "Established": "True"}
    assert status["acceptedNames"]["kind"] == "CronTab"
    assert status["storedVersions"] == ["v1"]
    assert crd["spec"]["names"]["listKind"] == "CronTabList"
    assert crd["spec"]["conversion"] == {"strategy": "None"}
    resources = server.kubectl("api-resources", "--api-group", GROUP).stdout
    assert "crontabs" in resources and "ct" in resources and "CronTab" in resources


def test_apply_get_columns_and_versions(server: ServerProcess, namespace: str,
                                        crontabs: str) -> None:
    server.kubectl("apply", "-f", "-", input=cr_manifest(namespace, "one", replicas=2))
    table = server.kubectl("get", "crontabs", "-n", namespace).stdout
    assert table.split("\n")[0].split() == ["NAME", "IMAGE", "REPLICAS", "AGE"]
    assert table.split("\n")[1].split()[:3] == ["one", "busybox", "2"]
    obj = yaml.safe_load(server.kubectl("get", "ct", "one", "-n", namespace, "-o",
                                        "yaml").stdout)
    assert obj["apiVersion"] == f"{GROUP}/v1"
    assert obj["spec"] == {"image": "busybox", "replicas": 2, "size": "small"}
    assert obj["metadata"]["generation"] == 1
    beta = get_json(server, f"crontabs.v1beta1.{GROUP}", "one", "-n", namespace)
    assert beta["apiVersion"] == f"{GROUP}/v1beta1"
    assert "one" in server.kubectl("get", "all", "-n", namespace).stdout


def test_explain(server: ServerProcess, crontabs: str) -> None:
    out = server.kubectl("explain", "crontabs.spec").stdout
    assert "KIND:" in out and "CronTab" in out
    assert "replicas" in out and "image" in out


def test_invalid_and_unknown_fields(server: ServerProcess, namespace: str,
                                    crontabs: str) -> None:
    bad = server.kubectl("apply", "-f", "-", check=False,
                         input=cr_manifest(namespace, "bad", replicas="three", size="huge"))
    assert bad.returncode != 0
    assert ('spec.replicas: Invalid value: "string": spec.replicas in body must be of type '
            'integer: "string"') in bad.stderr
    assert 'spec.size: Unsupported value: "huge": supported values: "small", "large"' in (
        bad.stderr)
    missing = server.kubectl("apply", "-f", "-", check=False, input=yaml.safe_dump({
        "apiVersion": f"{GROUP}/v1", "kind": "CronTab",
        "metadata": {"name": "nospec", "namespace": namespace}, "spec": {}}))
    assert "spec.image: Required value" in missing.stderr
    strict = server.kubectl("apply", "-f", "-", check=False,
                            input=cr_manifest(namespace, "strict", colour="red"))
    assert strict.returncode != 0
    assert 'unknown field "spec.colour"' in strict.stderr
    server.kubectl("apply", "--validate=false", "-f", "-",
                   input=cr_manifest(namespace, "pruned", colour="red", extra={"any": 1}))
    spec = get_json(server, "ct", "pruned", "-n", namespace)["spec"]
    assert spec == {"image": "busybox", "replicas": 1, "size": "small", "extra": {"any": 1}}


def test_scale_and_status(server: ServerProcess, namespace: str, crontabs: str) -> None:
    server.kubectl("apply", "-f", "-", input=cr_manifest(namespace, "scaled"))
    server.kubectl("scale", "crontab/scaled", "--replicas=3", "-n", namespace)
    obj = get_json(server, "ct", "scaled", "-n", namespace)
    assert obj["spec"]["replicas"] == 3
    assert obj["metadata"]["generation"] == 2
    server.kubectl("patch", "ct", "scaled", "-n", namespace, "--subresource=status",
                   "--type=merge", "-p",
                   '{"status": {"replicas": 3, "selector": "app=x"}, "spec": {"image": "x"}}')
    obj = get_json(server, "ct", "scaled", "-n", namespace)
    assert obj["status"] == {"replicas": 3, "selector": "app=x"}
    assert obj["spec"]["image"] == "busybox"
    assert obj["metadata"]["generation"] == 2
    server.kubectl("patch", "ct", "scaled", "-n", namespace, "--type=merge", "-p",
                   '{"status": {"phase": "ignored"}}')
    assert "phase" not in get_json(server, "ct", "scaled", "-n", namespace)["status"]
    scale = json.loads(server.kubectl(
        "get", "--raw",
        f"/apis/{GROUP}/v1/namespaces/{namespace}/crontabs/scaled/scale").stdout)
    assert scale["spec"] == {"replicas": 3}
    assert scale["status"] == {"replicas": 3, "selector": "app=x"}


def test_delete_crd_removes_resources(server: ServerProcess, namespace: str) -> None:
    server.kubectl("apply", "-f", "-", input=crd_manifest("gadgets", "Gadget", "gd"))
    server.kubectl("wait", "--for", "condition=established", "--timeout=30s",
                   f"crd/gadgets.{GROUP}")
    for name in ("g1", "g2"):
        server.kubectl("apply", "-f", "-", input=cr_manifest(
            namespace, name, f"{GROUP}/v1beta1").replace("CronTab", "Gadget"))
    assert len(get_json(server, "gadgets", "-n", namespace)["items"]) == 2  # type: ignore[arg-type]
    crd = get_json(server, "crd", f"gadgets.{GROUP}")
    assert crd["metadata"]["finalizers"] == [  # type: ignore[index]
        "customresourcecleanup.apiextensions.k8s.io"]
    server.kubectl("delete", "crd", f"gadgets.{GROUP}", "--timeout=30s")
    gone = server.kubectl("get", "crd", f"gadgets.{GROUP}", check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr
    assert "gadgets" not in server.kubectl("api-resources", "--api-group", GROUP).stdout
    raw = server.kubectl("get", "--raw", f"/apis/{GROUP}/v1/namespaces/{namespace}/gadgets",
                         check=False)
    assert raw.returncode != 0


def test_restarted_server_serves_stored_crds(tmp_path: Path) -> None:
    first = start_server(tmp_path / "restart")
    try:
        first.kubectl("apply", "-f", "-", input=crd_manifest("widgets", "Widget", "wd"))
        first.kubectl("wait", "--for", "condition=established", "--timeout=30s",
                      f"crd/widgets.{GROUP}")
        first.kubectl("apply", "-f", "-",
                      input=cr_manifest("default", "w1").replace("CronTab", "Widget"))
    finally:
        first.stop()
    second = start_server(tmp_path / "restart")
    try:
        obj = get_json(second, f"widgets.{GROUP}", "w1", "-n", "default")
        assert obj["spec"] == {"image": "busybox", "replicas": 1, "size": "small"}
    finally:
        second.stop()


# --- the Python client --------------------------------------------------------------------


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> Iterator[client.ApiClient]:
    api_client = config.new_client_from_config(config_file=str(server.kubeconfig))
    try:
        yield api_client
    finally:
        api_client.close()


def test_custom_objects_api_crud_and_watch(api: client.ApiClient, namespace: str,
                                           crontabs: str) -> None:
    custom = client.CustomObjectsApi(api)
    seen: list[tuple[str, str]] = []
    stream = watch.Watch()

    def follow() -> None:
        for event in stream.stream(custom.list_namespaced_custom_object, GROUP, "v1",
                                   namespace, "crontabs", timeout_seconds=20):
            seen.append((event["type"], event["object"]["metadata"]["name"]))
            if event["type"] == "DELETED":
                stream.stop()

    watcher = threading.Thread(target=follow, daemon=True)
    watcher.start()
    time.sleep(0.5)
    body = {"apiVersion": f"{GROUP}/v1", "kind": "CronTab",
            "metadata": {"name": "py"}, "spec": {"image": "nginx"}}
    created = custom.create_namespaced_custom_object(GROUP, "v1", namespace, "crontabs", body)
    assert created["spec"] == {"image": "nginx", "replicas": 1, "size": "small"}
    read = custom.get_namespaced_custom_object(GROUP, "v1beta1", namespace, "crontabs", "py")
    assert read["apiVersion"] == f"{GROUP}/v1beta1"
    patched = custom.patch_namespaced_custom_object(GROUP, "v1", namespace, "crontabs", "py",
                                                    {"spec": {"size": "large"}})
    assert patched["spec"]["size"] == "large"
    patched["spec"]["replicas"] = 5
    replaced = custom.replace_namespaced_custom_object(GROUP, "v1", namespace, "crontabs",
                                                       "py", patched)
    assert replaced["metadata"]["generation"] == 3
    listed = custom.list_namespaced_custom_object(GROUP, "v1", namespace, "crontabs")
    assert [i["metadata"]["name"] for i in listed["items"]] == ["py"]
    with pytest.raises(ApiException) as invalid:
        custom.create_namespaced_custom_object(GROUP, "v1", namespace, "crontabs", {
            **body, "metadata": {"name": f"neg-{uuid.uuid4().hex[:4]}"},
            "spec": {"image": "x", "replicas": -1}})
    assert invalid.value.status == 422
    assert "spec.replicas in body should be greater than or equal to 0" in invalid.value.body
    custom.delete_namespaced_custom_object(GROUP, "v1", namespace, "crontabs", "py")
    watcher.join(timeout=25)
    assert seen[0] == ("ADDED", "py") and seen[-1] == ("DELETED", "py")
    assert ("MODIFIED", "py") in seen
