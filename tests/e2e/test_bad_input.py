"""Bad input gets a Kubernetes Status with the right code, never a 5xx; the server stays up."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.e2e.harness import ServerProcess


def _request(server: ServerProcess, method: str, path: str, body: bytes | None = None,
             content_type: str = "application/json",
             token: str | None = None) -> tuple[int, dict[str, Any]]:
    context = ssl.create_default_context(cafile=str(server.data_dir / "pki" / "ca.crt"))
    headers = {"Content-Type": content_type, "Accept": "application/json"}
    secret = (server.data_dir / "admin.token").read_text().strip() if token is None else token
    if secret:
        headers["Authorization"] = f"Bearer {secret}"
    request = urllib.request.Request(server.url + path, data=body, method=method,
                                     headers=headers)
    try:
        with urllib.request.urlopen(request, context=context, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


CM = "/api/v1/namespaces/default/configmaps"


@pytest.mark.parametrize(("body", "content_type", "code", "reason"), [
    (b"{not json", "application/json", 400, "BadRequest"),
    (b"- a\n- : b: [", "application/yaml", 400, "BadRequest"),
    (b"[1, 2]", "application/json", 400, "BadRequest"),
    (b'{"metadata": {"name": "x"}, "data": {"a": 1}}', "application/json", 400, "BadRequest"),
    (b'{"metadata": {"name": "x"}, "data": "nope"}', "application/json", 400, "BadRequest"),
    (b'{"metadata": {"name": "Bad_Name"}}', "application/json", 422, "Invalid"),
    (b'{"metadata": {}}', "application/json", 422, "Invalid"),
    (b"{}", "text/html", 415, "UnsupportedMediaType"),
    (b"k8s\x00garbage", "application/vnd.kubernetes.protobuf", 400, "BadRequest"),
    (b"[" * 5000 + b"]" * 5000, "application/json", 400, "BadRequest"),
    (("a:\n" + "".join("  " * i + "- \n" for i in range(200))).encode(), "application/yaml",
     400, "BadRequest"),
])
def test_bad_bodies_get_a_status(server: ServerProcess, body: bytes, content_type: str,
                                 code: int, reason: str) -> None:
    status, document = _request(server, "POST", CM, body, content_type)
    assert (status, document.get("reason")) == (code, reason), document
    assert document["kind"] == "Status" and document["code"] == code


def test_oversized_body_is_413(server: ServerProcess) -> None:
    body = json.dumps({"metadata": {"name": "big"}, "data": {"x": "a" * (4 * 1024 * 1024)}})
    status, document = _request(server, "POST", CM, body.encode())
    assert status == 413 and document["reason"] == "RequestEntityTooLarge"


def test_unknown_paths_and_methods(server: ServerProcess) -> None:
    assert _request(server, "GET", "/api/v1/nonsense")[0] == 404
    assert _request(server, "GET", "/apis/nope.example.com/v1/things")[0] == 404
    status, _ = _request(server, "PATCH", CM + "/missing", b"{}",
                         "application/merge-patch+json")
    assert status == 404
    status, document = _request(server, "PATCH", "/api/v1/namespaces/default", b"{}",
                                "application/x-unknown-patch")
    assert (status, document["reason"]) == (415, "UnsupportedMediaType")
    status, document = _request(server, "GET", CM + "?labelSelector=a%20b%20c")
    assert (status, document["reason"]) == (400, "BadRequest")
    status, document = _request(server, "GET", CM + "?fieldSelector=spec.bogus%3Dx")
    assert status == 400 and "field label not supported" in document["message"]


def test_authentication_is_required(server: ServerProcess) -> None:
    status, document = _request(server, "GET", CM, token="")
    assert (status, document["reason"]) == (401, "Unauthorized")
    status, _ = _request(server, "GET", CM, token="wrong")
    assert status == 401
    assert _request(server, "GET", "/healthz".replace("/healthz", "/version"), token="")[0] == 200


def test_server_survives_and_still_serves(server: ServerProcess) -> None:
    for _ in range(3):
        _request(server, "POST", CM, b"\xff\xfe garbage", "application/json")
    status, document = _request(server, "GET", CM)
    assert status == 200 and document["kind"] == "ConfigMapList"


def test_dry_run_persists_nothing(server: ServerProcess) -> None:
    body = json.dumps({"metadata": {"name": "dry"}, "data": {"a": "b"}}).encode()
    status, document = _request(server, "POST", CM + "?dryRun=All", body)
    assert status == 201 and document["metadata"]["name"] == "dry"
    assert _request(server, "GET", CM + "/dry")[0] == 404


def test_stale_update_conflicts(server: ServerProcess) -> None:
    body = json.dumps({"metadata": {"name": "cas"}, "data": {"a": "1"}}).encode()
    _, created = _request(server, "POST", CM, body)
    first = dict(created, data={"a": "2"})
    assert _request(server, "PUT", CM + "/cas", json.dumps(first).encode())[0] == 200
    status, document = _request(server, "PUT", CM + "/cas", json.dumps(first).encode())
    assert (status, document["reason"]) == (409, "Conflict")


def test_patch_with_stale_resource_version_conflicts(server: ServerProcess) -> None:
    body = json.dumps({"metadata": {"name": "patched-cas"}, "data": {"a": "1"}}).encode()
    _, created = _request(server, "POST", CM, body)
    stale = created["metadata"]["resourceVersion"]
    fresh = json.dumps({"metadata": {"resourceVersion": stale}, "data": {"a": "2"}}).encode()
    assert _request(server, "PATCH", CM + "/patched-cas", fresh,
                    "application/merge-patch+json")[0] == 200
    status, document = _request(server, "PATCH", CM + "/patched-cas", fresh,
                                "application/merge-patch+json")
    assert (status, document["reason"]) == (409, "Conflict")
