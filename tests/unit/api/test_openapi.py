"""Structure of the OpenAPI documents: every GV, paths, GVK extensions, parameters, refs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from steersman.api import openapi
from steersman.api.builtin import builtin_registry
from steersman.api.resources import Registry, ResourceInfo

REGISTRY = builtin_registry()
GVS = [(g, v) for g, versions in REGISTRY.group_versions().items() for v in versions]
WRITE_PARAMS = {"fieldValidation", "dryRun", "fieldManager"}
WIDGETS = ResourceInfo(
    group="example.com", version="v1", kind="Widget", plural="widgets", singular="widget",
    namespaced=True,
    crd={"schema": {"type": "object", "properties": {"spec": {
        "type": "object", "properties": {"size": {"type": "integer"}}}}}},
)


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method != "parameters":
                yield path, method, op


@pytest.fixture(scope="module")
def v3_docs() -> dict[tuple[str, str], dict[str, Any]]:
    return {(g, v): openapi.openapi_v3_document(REGISTRY, g, v) for g, v in GVS}


def test_index_lists_every_served_group_version() -> None:
    hashes = {openapi.gv_path(g, v): f"H{i}" for i, (g, v) in enumerate(GVS)}
    index = openapi.openapi_v3_index(REGISTRY, hashes=hashes)
    assert set(index["paths"]) == set(hashes)
    core = index["paths"]["api/v1"]
    assert core == {"serverRelativeURL": f"/openapi/v3/api/v1?hash={hashes['api/v1']}"}
    apps = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
    assert apps == f"/openapi/v3/apis/apps/v1?hash={hashes['apis/apps/v1']}"


@pytest.mark.parametrize(("group", "version"), GVS, ids=[openapi.gv_path(*gv) for gv in GVS])
def test_every_resource_has_collection_and_item_paths(
    v3_docs: dict[tuple[str, str], dict[str, Any]], group: str, version: str,
) -> None:
    doc = v3_docs[(group, version)]
    assert doc["openapi"] == "3.0.0"
    for info in REGISTRY.in_group_version(group, version):
        base = "/" + openapi.gv_path(group, version)
        scope = "/namespaces/{namespace}" if info.namespaced else ""
        collection = doc["paths"][f"{base}{scope}/{info.plural}"]
        gvk = {"group": group, "kind": info.kind, "version": version}
        assert collection["post"]["x-kubernetes-group-version-kind"] == gvk
        if "get" in info.verbs:
            item = doc["paths"][f"{base}{scope}/{info.plural}/{{name}}"]
            assert item["get"]["x-kubernetes-action"] == "get"
            assert item["get"]["x-kubernetes-group-version-kind"] == gvk
        if "patch" in info.verbs:
            assert item["patch"]["x-kubernetes-action"] == "patch"


@pytest.mark.parametrize(("group", "version"), GVS, ids=[openapi.gv_path(*gv) for gv in GVS])
def test_writes_declare_field_validation(
    v3_docs: dict[tuple[str, str], dict[str, Any]], group: str, version: str,
) -> None:
    for path, method, op in operations(v3_docs[(group, version)]):
        assert "x-kubernetes-action" in op, (path, method)
        assert "x-kubernetes-group-version-kind" in op, (path, method)
        if method in ("patch", "put") or (method == "post" and op["x-kubernetes-action"] == "post"):
            names = {p["name"] for p in op["parameters"]}
            assert names >= WRITE_PARAMS, (path, method)


@pytest.mark.parametrize(("group", "version"), GVS, ids=[openapi.gv_path(*gv) for gv in GVS])
def test_refs_resolve_and_types_are_single(
    v3_docs: dict[tuple[str, str], dict[str, Any]], group: str, version: str,
) -> None:
    doc = v3_docs[(group, version)]
    schemas = doc["components"]["schemas"]
    for node in walk(doc):
        ref = node.get("$ref")
        if isinstance(ref, str):
            assert ref.startswith(openapi.V3_REF), ref
            assert ref[len(openapi.V3_REF):] in schemas, ref
            assert set(node) == {"$ref"}, node
        assert not isinstance(node.get("type"), list), node


def test_pod_paths_and_schema(v3_docs: dict[tuple[str, str], dict[str, Any]]) -> None:
    doc = v3_docs[("", "v1")]
    paths = doc["paths"]
    for path in ("/api/v1/namespaces/{namespace}/pods", "/api/v1/pods",
                 "/api/v1/namespaces/{namespace}/pods/{name}/status",
                 "/api/v1/nodes", "/api/v1/nodes/{name}"):
        assert path in paths, path
    status_patch = paths["/api/v1/namespaces/{namespace}/pods/{name}/status"]["patch"]
    assert status_patch["x-kubernetes-group-version-kind"]["kind"] == "Pod"
    assert {p["name"] for p in status_patch["parameters"]} >= WRITE_PARAMS
    eviction = paths["/api/v1/namespaces/{namespace}/pods/{name}/eviction"]["post"]
    assert eviction["x-kubernetes-group-version-kind"] == {
        "group": "policy", "kind": "Eviction", "version": "v1"}
    schemas = doc["components"]["schemas"]
    pod = schemas["io.k8s.api.core.v1.Pod"]
    assert pod["x-kubernetes-group-version-kind"] == [{"group": "", "kind": "Pod", "version": "v1"}]
    assert pod["type"] == "object"
    assert pod["properties"]["apiVersion"] == {
        "description": pod["properties"]["apiVersion"]["description"], "type": "string"}
    assert pod["properties"]["metadata"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]
    assert "description" in pod["properties"]["metadata"]
    containers = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-patch-strategy"] == "merge"
    assert containers["x-kubernetes-list-map-keys"] == ["name"]
    assert containers["items"] == {"$ref": "#/components/schemas/io.k8s.api.core.v1.Container"}
    assert schemas["io.k8s.api.core.v1.PodSpec"]["required"] == ["containers"]
    assert schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["format"] == "int-or-string"


def test_apps_document_reaches_scale_and_meta(
    v3_docs: dict[tuple[str, str], dict[str, Any]],
) -> None:
    doc = v3_docs[("apps", "v1")]
    scale = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]
    assert scale["put"]["x-kubernetes-group-version-kind"]["group"] == "autoscaling"
    schemas = doc["components"]["schemas"]
    for name in ("io.k8s.api.autoscaling.v1.Scale", "io.k8s.api.apps.v1.DeploymentList",
                 "io.k8s.apimachinery.pkg.apis.meta.v1.Status",
                 "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
                 "io.k8s.apimachinery.pkg.apis.meta.v1.Patch", "io.k8s.api.core.v1.PodSpec"):
        assert name in schemas, name
    assert "io.k8s.api.batch.v1.JobSpec" not in schemas


def test_crd_document() -> None:
    doc = openapi.crd_openapi_v3_document([WIDGETS])
    schemas = doc["components"]["schemas"]
    widget = schemas["com.example.v1.Widget"]
    assert widget["x-kubernetes-group-version-kind"] == [
        {"group": "example.com", "kind": "Widget", "version": "v1"}]
    assert widget["properties"]["metadata"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]
    assert widget["properties"]["spec"]["properties"]["size"] == {"type": "integer"}
    assert schemas["com.example.v1.WidgetList"]["properties"]["items"]["items"] == {
        "$ref": "#/components/schemas/com.example.v1.Widget"}
    patch = doc["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"]["patch"]
    assert "application/strategic-merge-patch+json" not in patch["requestBody"]["content"]
    assert {p["name"] for p in patch["parameters"]} >= WRITE_PARAMS
    for node in walk(doc):
        if "$ref" in node:
            assert node["$ref"][len(openapi.V3_REF):] in schemas


def test_registry_document_includes_custom_resources() -> None:
    registry = Registry([*builtin_registry(), WIDGETS])
    doc = openapi.openapi_v3_document(registry, "example.com", "v1")
    assert "com.example.v1.Widget" in doc["components"]["schemas"]
    index = openapi.openapi_v3_index(registry, hashes={})
    assert index["paths"]["apis/example.com/v1"] == {
        "serverRelativeURL": "/openapi/v3/apis/example.com/v1"}


def test_v2_document() -> None:
    registry = Registry([*builtin_registry(), WIDGETS])
    doc = openapi.openapi_v2_document(registry)
    assert doc["swagger"] == "2.0"
    definitions = doc["definitions"]
    for node in walk(doc):
        ref = node.get("$ref")
        if isinstance(ref, str):
            assert ref.startswith(openapi.V2_REF), ref
            assert ref[len(openapi.V2_REF):] in definitions, ref
        assert not isinstance(node.get("allOf"), list), node
        assert not isinstance(node.get("oneOf"), list), node
        assert not isinstance(node.get("type"), list)
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"]["kind"] == "Deployment"
    assert {p["name"] for p in patch["parameters"]} >= WRITE_PARAMS | {"body"}
    assert definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] == {
        "description": "IntOrString is a type that can hold an int32 or a string.",
        "format": "int-or-string", "type": "string"}
    meta = definitions["io.k8s.api.core.v1.Pod"]["properties"]["metadata"]
    assert meta["$ref"] == "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    assert "com.example.v1.Widget" in definitions


def test_convert_schema_rules() -> None:
    assert openapi.convert_schema({"type": ["string", "null"], "format": "date-time"}) == {
        "type": "string", "format": "date-time"}
    assert openapi.convert_schema({"$ref": "#/$defs/a.B", "description": "d"}) == {
        "allOf": [{"$ref": "#/components/schemas/a.B"}], "description": "d"}
    assert openapi.convert_schema({"$ref": "#/$defs/a.B"}) == {"$ref": "#/components/schemas/a.B"}
    assert openapi.convert_schema({"$ref": "#/$defs/a.B", "description": "d"},
                                  ref_prefix=openapi.V2_REF) == {
        "$ref": "#/definitions/a.B", "description": "d"}
    converted = openapi.convert_schema({
        "type": ["object", "null"], "x-kubernetes-map-type": "atomic",
        "properties": {"mode": {"type": ["string", "null"], "enum": ["X"]}},
        "additionalProperties": {"type": ["string", "null"]}})
    assert converted == {"type": "object", "x-kubernetes-map-type": "atomic",
                         "properties": {"mode": {"type": "string", "enum": ["X"]}},
                         "additionalProperties": {"type": "string"}}


def test_cache_builds_once_per_generation() -> None:
    cache: openapi.OpenAPICache[openapi.SerializedDocument] = openapi.OpenAPICache()
    calls: list[int] = []

    def build() -> openapi.SerializedDocument:
        calls.append(1)
        return openapi.serialize(openapi.openapi_v3_document(REGISTRY, "apps", "v1"))

    first = cache.get(1, "apis/apps/v1", build)
    assert cache.get(1, "apis/apps/v1", build) is first
    assert len(calls) == 1
    again = cache.get(2, "apis/apps/v1", build)
    assert len(calls) == 2
    assert again.hash == first.hash


def test_document_hash() -> None:
    digest = openapi.document_hash(b"{}")
    assert len(digest) == 128
    assert digest == digest.upper()
    assert digest == openapi.serialize({}).hash
