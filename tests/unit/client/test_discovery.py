"""Discovery documents → served resources and verbs; a failing group is reported, not fatal."""

from __future__ import annotations

from typing import Any

import pytest

from steersman.api.errors import StatusError
from steersman.client import CONFIGMAPS, DEPLOYMENTS, Resource, discover

Object = dict[str, Any]
CORE: Object = {"groupVersion": "v1", "resources": [
    {"name": "configmaps", "namespaced": True, "kind": "ConfigMap",
     "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "watch"]},
    {"name": "pods/status", "namespaced": True, "kind": "Pod", "verbs": ["get", "patch"]},
    {"name": "namespaces", "namespaced": False, "kind": "Namespace",
     "verbs": ["create", "delete", "get", "list", "watch"]},
    {"name": "bindings", "namespaced": True, "kind": "Binding", "verbs": ["create"]},
]}
GROUPS: Object = {"kind": "APIGroupList", "groups": [
    {"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
     "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}},
    {"name": "example.com", "versions": [{"groupVersion": "example.com/v2", "version": "v2"},
                                         {"groupVersion": "example.com/v1", "version": "v1"}],
     "preferredVersion": {"groupVersion": "example.com/v2", "version": "v2"}},
    {"name": "metrics.k8s.io", "versions": [{"groupVersion": "metrics.k8s.io/v1beta1"}]},
]}
DOCUMENTS: dict[str, Object] = {
    "/api/v1": CORE, "/apis": GROUPS,
    "/apis/apps/v1": {"resources": [
        {"name": "deployments", "namespaced": True, "kind": "Deployment",
         "verbs": ["delete", "deletecollection", "list", "watch"]}]},
    "/apis/example.com/v2": {"resources": [
        {"name": "widgets", "namespaced": True, "kind": "Widget",
         "verbs": ["delete", "list", "watch"]}]},
}


class Documents:
    def __init__(self, documents: dict[str, Object]) -> None:
        self.documents = documents
        self.asked: list[str] = []

    async def get_path(self, path: str) -> Object:
        self.asked.append(path)
        if path not in self.documents:
            raise StatusError(503, "ServiceUnavailable", "the server is currently unable")
        return self.documents[path]


async def test_discovery_reads_preferred_versions_and_reports_failures() -> None:
    documents = Documents(DOCUMENTS)
    found = await discover(documents)
    assert "/apis/example.com/v1" not in documents.asked
    assert dict(found.failed) == {"metrics.k8s.io/v1beta1": "the server is currently unable"}
    assert found.failed_groups() == {"metrics.k8s.io"}
    widgets = Resource("example.com", "v2", "widgets", kind="Widget")
    assert [r.resource for r in found.with_verbs("list", "delete", namespaced=True)] == [
        CONFIGMAPS, DEPLOYMENTS, widgets]
    assert [r.resource.plural for r in found.with_verbs("deletecollection")] == [
        "configmaps", "deployments"]
    assert [r.resource.plural for r in found.with_verbs("list", namespaced=False)] == [
        "namespaces"]


@pytest.mark.parametrize(("api_version", "kind", "plural"), [
    ("v1", "ConfigMap", "configmaps"),
    ("apps/v1", "Deployment", "deployments"),
    ("apps/v1beta2", "Deployment", "deployments"),
    ("example.com/v1", "Widget", "widgets"),
    ("example.com/v2", "Gadget", None),
    ("v1", "Deployment", None),
])
async def test_for_kind_maps_owner_references(api_version: str, kind: str,
                                              plural: str | None) -> None:
    found = (await discover(Documents(DOCUMENTS))).for_kind(api_version, kind)
    assert (found.plural if found else None) == plural


async def test_unreadable_core_documents_fail_discovery() -> None:
    with pytest.raises(StatusError):
        await discover(Documents({"/api/v1": CORE}))
