"""The registry client against an in-process v2 registry: bearer token flow, digest checks."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from steersman.kubelet.images.credentials import Credential
from steersman.kubelet.images.errors import PullError
from steersman.kubelet.images.registry import RegistryClient
from steersman.kubelet.images.store import ImageStore

TOKEN = "t0ken"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _blobs() -> tuple[bytes, bytes, bytes]:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("hello")
        info.size = 2
        archive.addfile(info, io.BytesIO(b"hi"))
    layer = gzip.compress(buffer.getvalue())
    config = b'{"config":{},"rootfs":{"diff_ids":[]}}'
    manifest = json.dumps({"schemaVersion": 2, "mediaType":
                           "application/vnd.docker.distribution.manifest.v2+json",
                           "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                                      "digest": _digest(config), "size": len(config)},
                           "layers": [{"mediaType":
                                       "application/vnd.docker.image.rootfs.diff.tar.gzip",
                                       "digest": _digest(layer), "size": len(layer)}]}).encode()
    return layer, config, manifest


def _app(*, corrupt: bool) -> web.Application:
    layer, config, manifest = _blobs()
    blobs = {_digest(layer): b"X" * len(layer) if corrupt else layer, _digest(config): config}

    def authorized(request: web.Request) -> None:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            realm = f"http://{request.host}/token"
            raise web.HTTPUnauthorized(headers={"WWW-Authenticate": (
                f'Bearer realm="{realm}",service="fake",scope="repository:app:pull"')},
                text='{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}')

    async def token(request: web.Request) -> web.Response:
        expected = "Basic " + base64.b64encode(b"u:p").decode()
        if request.headers.get("Authorization") != expected or \
                request.query.get("scope") != "repository:app:pull":
            raise web.HTTPUnauthorized()
        return web.json_response({"token": TOKEN})

    async def get_manifest(request: web.Request) -> web.Response:
        authorized(request)
        if request.match_info["ref"] not in ("v1", _digest(manifest)):
            return web.json_response({"errors": [{"code": "MANIFEST_UNKNOWN",
                                                  "message": "manifest unknown"}]}, status=404)
        return web.Response(body=manifest, headers={
            "Content-Type": "application/vnd.docker.distribution.manifest.v2+json",
            "Docker-Content-Digest": _digest(manifest)})

    async def get_blob(request: web.Request) -> web.Response:
        authorized(request)
        return web.Response(body=blobs[request.match_info["digest"]])

    app = web.Application()
    app.router.add_get("/token", token)
    app.router.add_get("/v2/app/manifests/{ref}", get_manifest)
    app.router.add_get("/v2/app/blobs/{digest}", get_blob)
    return app


async def _serve(corrupt: bool) -> AsyncIterator[str]:
    server = TestServer(_app(corrupt=corrupt), host="127.0.0.1")
    await server.start_server()
    yield f"127.0.0.1:{server.port}"
    await server.close()


@pytest.fixture
async def registry() -> AsyncIterator[str]:
    async for host in _serve(corrupt=False):
        yield host


@pytest.fixture
async def corrupt_registry() -> AsyncIterator[str]:
    async for host in _serve(corrupt=True):
        yield host


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[RegistryClient]:
    registry_client = RegistryClient(ImageStore(tmp_path))
    yield registry_client
    await registry_client.close()


async def test_bearer_token_flow(registry: str, client: RegistryClient) -> None:
    with pytest.raises(PullError, match="unauthorized: authentication required"):
        await client.pull(f"{registry}/app:v1")
    wrong = [Credential(registry, "u", "nope")]
    with pytest.raises(PullError, match="unauthorized: the token server refused"):
        await client.pull(f"{registry}/app:v1", credentials=wrong)
    right = [Credential(registry, "u", "nope"), Credential(f"{registry}/app", "u", "p")]
    record = await client.pull(f"{registry}/app:v1", credentials=right)
    assert (client.store.rootfs(record) / "hello").read_bytes() == b"hi"


async def test_unknown_manifest(registry: str, client: RegistryClient) -> None:
    creds = [Credential(registry, "u", "p")]
    with pytest.raises(PullError, match=r'image ".*/app:v2": manifest unknown$'):
        await client.pull(f"{registry}/app:v2", credentials=creds)


async def test_layer_digest_mismatch_rejected(corrupt_registry: str,
                                              client: RegistryClient) -> None:
    creds = [Credential(corrupt_registry, "u", "p")]
    with pytest.raises(PullError, match="digest mismatch"):
        await client.pull(f"{corrupt_registry}/app:v1", credentials=creds)
    assert client.store.images() == []
    assert list((client.store.root / "tmp").iterdir()) == []
