"""The real kubectl reads our OpenAPI documents: ``explain``, and ``apply`` trusting the server.

A throwaway aiohttp app on 127.0.0.1 serves ``/version``, legacy discovery built from the
built-in registry plus one custom resource, ``/openapi/v3`` and the per-group-version
documents, and just enough of the deployments collection for ``kubectl apply`` to create one.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from steersman.api import openapi
from steersman.api.builtin import builtin_registry
from steersman.api.resources import Registry, ResourceInfo
from tests.tools import need_tool

VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.4",
           "gitCommit": "0" * 40, "gitTreeState": "clean",
           "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.23.6",
           "compiler": "gc", "platform": "linux/amd64"}


WIDGETS = ResourceInfo(
    group="example.com", version="v1", kind="Widget", plural="widgets", singular="widget",
    namespaced=True,
    crd={"schema": {
        "description": "Widget is a test custom resource.",
        "type": "object",
        "properties": {"spec": {
            "description": "What the widget should be.", "type": "object",
            "required": ["size"],
            "properties": {"size": {"description": "How big.", "type": "integer"},
                           "color": {"type": "string", "enum": ["red", "blue"]}},
        }},
    }},
)


def _resource_list(registry: Registry, group: str, version: str) -> dict[str, Any]:
    resources: list[dict[str, Any]] = []
    for info in registry.in_group_version(group, version):
        resources.append(_resource_entry(info))
        for sub in info.subresources:
            entry = {"name": f"{info.plural}/{sub.name}", "singularName": "",
                     "namespaced": info.namespaced, "kind": sub.kind, "verbs": list(sub.verbs)}
            if sub.group is not None:
                entry.update(group=sub.group, version=sub.version)
            resources.append(entry)
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
            "resources": resources}


def _resource_entry(info: ResourceInfo) -> dict[str, Any]:
    return {"name": info.plural, "singularName": info.singular, "namespaced": info.namespaced,
            "kind": info.kind, "verbs": list(info.verbs), "shortNames": list(info.short_names),
            "categories": list(info.categories)}


def _group_list(registry: Registry) -> dict[str, Any]:
    groups = []
    for group, versions in registry.group_versions().items():
        if not group:
            continue
        entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        groups.append({"name": group, "versions": entries, "preferredVersion": entries[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


@dataclass
class FakeServer:
    registry: Registry
    documents: dict[str, openapi.SerializedDocument] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def app(self) -> web.Application:
        for group, versions in self.registry.group_versions().items():
            for version in versions:
                doc = openapi.openapi_v3_document(self.registry, group, version)
                self.documents[openapi.gv_path(group, version)] = openapi.serialize(doc)
        app = web.Application(middlewares=[self._record])
        app.router.add_get("/version", self._json(VERSION))
        app.router.add_get("/api", self._json(
            {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]}))
        app.router.add_get("/api/v1", self._json(_resource_list(self.registry, "", "v1")))
        app.router.add_get("/apis", self._json(_group_list(self.registry)))
        app.router.add_get("/apis/{group}/{version}", self._group_version)
        app.router.add_get("/openapi/v3", self._index)
        app.router.add_get("/openapi/v3/{tail:.+}", self._document)
        app.router.add_get("/apis/apps/v1/namespaces/default/deployments/{name}", self._absent)
        app.router.add_post("/apis/apps/v1/namespaces/default/deployments", self._create)
        return app

    @staticmethod
    def _json(body: dict[str, Any]) -> Any:
        async def handler(_: web.Request) -> web.Response:
            return web.json_response(body)

        return handler

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append(f"{request.method} {request.path_qs}")
        response: web.StreamResponse = await handler(request)
        return response

    async def _group_version(self, request: web.Request) -> web.Response:
        group, version = request.match_info["group"], request.match_info["version"]
        return web.json_response(_resource_list(self.registry, group, version))

    async def _index(self, _: web.Request) -> web.Response:
        hashes = {key: doc.hash for key, doc in self.documents.items()}
        return web.json_response(openapi.openapi_v3_index(self.registry, hashes=hashes))

    async def _document(self, request: web.Request) -> web.Response:
        doc = self.documents.get(request.match_info["tail"])
        if doc is None:
            raise web.HTTPNotFound()
        return web.Response(body=doc.body, content_type="application/json")

    async def _absent(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        return web.json_response(
            {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
             "message": f'deployments.apps "{name}" not found', "reason": "NotFound",
             "details": {"name": name, "group": "apps", "kind": "deployments"}, "code": 404},
            status=404)

    async def _create(self, request: web.Request) -> web.Response:
        body = await request.json()
        body["metadata"].setdefault("uid", "00000000-0000-0000-0000-000000000001")
        return web.json_response(body, status=201)


@pytest.fixture
async def kubectl(tmp_path: Path) -> AsyncIterator[tuple[Any, FakeServer]]:
    binary = need_tool("kubectl", "runs the real client against the OpenAPI documents")
    registry = builtin_registry()
    registry.add(WIDGETS)
    server = FakeServer(registry)
    runner = web.AppRunner(server.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    config = tmp_path / "kubeconfig"
    config.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: t\n"
        f"clusters:\n- name: t\n  cluster:\n    server: http://127.0.0.1:{port}\n"
        "contexts:\n- name: t\n  context:\n    cluster: t\n    user: u\n"
        "users:\n- name: u\n  user: {}\n")

    async def run(*args: str) -> tuple[int, str, str]:
        env = {**os.environ, "HOME": str(tmp_path), "KUBECONFIG": str(config)}
        proc = await asyncio.create_subprocess_exec(
            binary, "--kubeconfig", str(config), "--cache-dir", str(tmp_path / "cache"), *args,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        return proc.returncode or 0, out.decode(), err.decode()

    yield run, server
    await runner.cleanup()


async def test_explain_pods(kubectl: tuple[Any, FakeServer]) -> None:
    run, _ = kubectl
    code, out, err = await run("explain", "pods")
    assert code == 0, err
    assert "KIND:       Pod" in out
    assert "VERSION:    v1" in out
    assert "spec\t<PodSpec>" in out
    assert "metadata\t<ObjectMeta>" in out


async def test_explain_nested_field(kubectl: tuple[Any, FakeServer]) -> None:
    run, _ = kubectl
    code, out, err = await run("explain", "deployment.spec.template.spec.containers")
    assert code == 0, err
    assert "GROUP:      apps" in out
    assert "FIELD: containers <[]Container>" in out
    assert "imagePullPolicy\t<string>" in out
    assert "resources\t<ResourceRequirements>" in out


async def test_explain_recursive(kubectl: tuple[Any, FakeServer]) -> None:
    run, _ = kubectl
    code, out, err = await run("explain", "pods", "--recursive")
    assert code == 0, err
    assert "terminationGracePeriodSeconds\t<integer>" in out
    assert "maxSurge" not in out
    assert "limits\t<map[string]Quantity>" in out


async def test_apply_trusts_server_side_validation(
    kubectl: tuple[Any, FakeServer], tmp_path: Path,
) -> None:
    run, server = kubectl
    manifest = tmp_path / "deploy.yaml"
    manifest.write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: default\n"
        "spec:\n  selector:\n    matchLabels: {app: web}\n  template:\n"
        "    metadata:\n      labels: {app: web}\n    spec:\n"
        "      containers:\n      - name: nginx\n        image: nginx:1.27\n")
    code, out, err = await run("apply", "-f", str(manifest))
    assert code == 0, err
    assert "deployment.apps/web created" in out
    assert any(r.startswith("GET /openapi/v3/apis/apps/v1?hash=") for r in server.requests)
    assert not any(r.startswith("GET /openapi/v2") for r in server.requests)
    post = next(r for r in server.requests if r.startswith("POST "))
    assert "fieldValidation=Strict" in post


async def test_explain_custom_resource(kubectl: tuple[Any, FakeServer]) -> None:
    run, _ = kubectl
    code, out, err = await run("explain", "widgets.spec")
    assert code == 0, err
    assert "GROUP:      example.com" in out
    assert "KIND:       Widget" in out
    assert "size\t<integer> -required-" in out
    assert "How big." in out
    code, out, err = await run("explain", "widgets")
    assert code == 0, err
    assert "metadata\t<ObjectMeta>" in out
