"""``/openapi/v2`` and ``/openapi/v3``: documents built from the registry, cached as bytes.

kubectl asks for ``/openapi/v3`` (the index), then one document per group-version it needs;
the index carries a hash per document so kubectl's cache follows changes (CRDs). The v2
document is asked for in protobuf by kubectl: an empty body there means "no schema", which
leaves validation to the server (``fieldValidation``), as k8s-api-compat.md §7.2 describes.
"""

from __future__ import annotations

import hashlib

import orjson
from aiohttp import web

from steersman.api import errors, openapi
from steersman.api.resources import Registry
from steersman.apiserver import negotiation as neg

V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"


class OpenAPIRoutes:
    def __init__(self, resources: Registry) -> None:
        self._resources = resources
        self._documents: dict[tuple[int, str], bytes] = {}

    def _hash(self, key: str) -> str:
        seed = f"{self._resources.generation}:{key}".encode()
        return hashlib.sha512(seed).hexdigest().upper()[:32]

    async def v3_index(self, request: web.Request) -> web.Response:
        gvs = self._resources.group_versions()
        hashes = {openapi.gv_path(g, v): self._hash(openapi.gv_path(g, v))
                  for g, versions in gvs.items() for v in versions}
        return neg.json_response(openapi.openapi_v3_index(self._resources, hashes=hashes))

    async def v3_document(self, request: web.Request) -> web.Response:
        key = request.path[len("/openapi/v3/"):].strip("/")
        parts = key.split("/")
        if len(parts) == 2 and parts[0] == "api":
            group, version = "", parts[1]
        elif len(parts) == 3 and parts[0] == "apis":
            group, version = parts[1], parts[2]
        else:
            raise errors.StatusError(404, "NotFound", f"no OpenAPI document at {request.path}")
        if not self._resources.in_group_version(group, version):
            raise errors.StatusError(404, "NotFound", f"no OpenAPI document at {request.path}")
        body = self._document(group, version)
        return web.Response(body=body, content_type=neg.JSON,
                            headers={"Cache-Control": "public, immutable"})

    def _document(self, group: str, version: str) -> bytes:
        cache_key = (self._resources.generation, f"{group}/{version}")
        body = self._documents.get(cache_key)
        if body is None:
            self._documents = {k: v for k, v in self._documents.items()
                               if k[0] == self._resources.generation}
            body = orjson.dumps(openapi.openapi_v3_document(self._resources, group, version))
            self._documents[cache_key] = body
        return body

    async def v2(self, request: web.Request) -> web.Response:
        if "protobuf" in request.headers.get("Accept", ""):
            return web.Response(body=b"", headers={"Content-Type": V2_PROTOBUF})
        cache_key = (self._resources.generation, "v2")
        body = self._documents.get(cache_key)
        if body is None:
            body = orjson.dumps(openapi.openapi_v2_document(self._resources))
            self._documents[cache_key] = body
        return web.Response(body=body, content_type=neg.JSON)
