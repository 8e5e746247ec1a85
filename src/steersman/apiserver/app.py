"""The API server's HTTP application: routing, authentication and error translation.

Every path that is not discovery, health or OpenAPI is parsed into a ``RequestInfo`` and
dispatched by verb. Errors are translated once, here: a ``StatusError`` becomes its
``Status``; anything unexpected becomes a 500 ``InternalError`` Status and is logged,
and the server stays up.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

from aiohttp import web

from steersman.api import errors
from steersman.api.resources import Registry, ResourceInfo
from steersman.apiserver import discovery
from steersman.apiserver import negotiation as neg
from steersman.apiserver.authn import Authenticator, UserInfo
from steersman.apiserver.bootstrap_tokens import bootstrapper_denial, is_bootstrapper
from steersman.apiserver.certificate_requests import CertificateRequests
from steersman.apiserver.generic import GenericRegistry
from steersman.apiserver.handlers import ResourceHandlers
from steersman.apiserver.hpa_v1 import HorizontalPodAutoscalerV1
from steersman.apiserver.metrics_api import GROUP as METRICS_GROUP
from steersman.apiserver.metrics_api import MetricsAPI
from steersman.apiserver.nodeproxy import NodeProxy
from steersman.apiserver.oidc import OIDC_PATHS, OIDCDiscovery
from steersman.apiserver.openapi_routes import OpenAPIRoutes
from steersman.apiserver.requestinfo import RequestInfo, parse_resource_path
from steersman.apiserver.reviews import VIRTUAL_GROUPS, Reviews
from steersman.apiserver.service_account_tokens import ServiceAccountTokens
from steersman.apiserver.subresources import Subresources
from steersman.apiserver.tokenrequest import TokenRequests
from steersman.apiserver.watch import WatchHandler
from steersman.apiserver.watchcache import WatchCache

log = logging.getLogger(__name__)

VERSION_INFO = {
    "major": "1", "minor": "32", "gitVersion": "v1.32.4-steersman",
    "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
    "buildDate": "2026-11-29T00:00:00Z", "goVersion": "go1.23.6", "compiler": "gc",
    "platform": "linux/amd64",
}
USER_KEY = web.AppKey("user", UserInfo)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_PUBLIC = ("/healthz", "/livez", "/readyz", "/version", "/cacerts")
_RESOURCE_ROOTS = ("/api/", "/apis/")


class APIServer:
    def __init__(self, *, resources: Registry, registry: GenericRegistry, cache: WatchCache,
                 authenticator: Authenticator | None, server_address: str,
                 service_accounts: ServiceAccountTokens | None = None,
                 node_proxy: NodeProxy | None = None, ca_pem: bytes | None = None,
                 node_metrics: MetricsAPI | None = None) -> None:
        self.resources = resources
        self.registry = registry
        self.cache = cache
        self.authenticator = authenticator
        self.server_address = server_address
        self.handlers = ResourceHandlers(registry)
        self.watches = WatchHandler(cache)
        self.subresources = Subresources(registry, self.handlers, None if (
            service_accounts is None) else TokenRequests(registry, service_accounts),
            node_proxy=node_proxy)
        self.reviews = Reviews(authenticator)
        self.oidc = None if service_accounts is None else OIDCDiscovery(
            service_accounts, server_address=server_address)
        self.openapi = OpenAPIRoutes(resources)
        self.certificate_requests = CertificateRequests(registry, self.handlers)
        self.ca_pem = ca_pem
        self.node_metrics = node_metrics  # metrics.k8s.io, when nodes can be scraped
        if node_metrics is not None:
            node_metrics.register(resources)
        self.hpa_v1 = HorizontalPodAutoscalerV1(registry)  # a view of the stored v2 HPAs
        self.hpa_v1.register(resources)
        self.ready = False

    def application(self) -> web.Application:
        """The API as an aiohttp application (one catch-all route to :meth:`handle`)."""
        app = web.Application(client_max_size=neg.MAX_BODY_BYTES + 1)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        """Serve one HTTP request: authenticate, route, and translate errors into Status
        answers. The server runs it as aiohttp's low-level handler — no router, no
        middleware chain — since every path is routed here anyway."""
        try:
            if self.authenticator is not None and request.path not in _PUBLIC:
                self._authenticate(request)
            return await self._route(cast(web.Request, request))
        except web.HTTPException as exc:
            if isinstance(exc, web.HTTPRequestEntityTooLarge):
                return neg.status_response(errors.request_entity_too_large(neg.MAX_BODY_BYTES))
            raise
        except (ConnectionResetError, ConnectionError):
            raise
        except Exception as exc:
            return self.error_response(request, exc)

    def error_response(self, request: web.BaseRequest, exc: Exception) -> web.Response:
        """The Status answer to a failed request: its own for a ``StatusError``, else a 500
        ``InternalError`` (logged) — the server stays up either way."""
        if isinstance(exc, errors.StatusError):
            return neg.status_response(exc)
        log.exception("internal error serving %s %s", request.method, request.path,
                      exc_info=exc)
        return neg.status_response(errors.internal_error(f"{type(exc).__name__}: {exc}"))

    def _authenticate(self, request: web.BaseRequest) -> None:
        assert self.authenticator is not None
        peercert = None
        if request.transport is not None:
            peercert = request.transport.get_extra_info("peercert")
        user = self.authenticator.authenticate(
            authorization_header=request.headers.get("Authorization"), peercert=peercert)
        if user is None:
            raise errors.unauthorized()
        if is_bootstrapper(user.groups):  # no RBAC yet: join tokens reach CSRs only
            denial = bootstrapper_denial(user.name, request.method,
                                         request.path.rstrip("/") or "/")
            if denial is not None:
                raise denial
        request["user"] = user

    async def _route(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        if not path.startswith(_RESOURCE_ROOTS):  # no fixed route is under /api/ or /apis/
            fixed = self._fixed_route(path)
            if fixed is not None:
                return await fixed(request)
        ri = parse_resource_path(path)
        if ri is None:
            return await self._discovery(request, path)
        return await self._dispatch(request, self.resource_info(ri), ri)

    async def route(self, request: web.Request) -> web.StreamResponse:
        """Serve an already authenticated request (``request["user"]`` set): routing and
        dispatch as over HTTPS, errors raised rather than translated."""
        return await self._route(request)

    def resource_info(self, ri: RequestInfo) -> ResourceInfo:
        """The served resource a parsed path names; 404 when there is none."""
        info = self.resources.get(ri.group, ri.version, ri.resource)
        if info is None:
            raise errors.StatusError(404, "NotFound",
                                     "the server could not find the requested resource",
                                     {"kind": ri.resource, "group": ri.group})
        return info

    def watched_from_cache(self, info: ResourceInfo) -> bool:
        """Whether watches of ``info`` are served by the watch cache (not computed views)."""
        return not (info.group == METRICS_GROUP or info.group in VIRTUAL_GROUPS
                    or self.hpa_v1.serves(info))

    def _fixed_route(self, path: str) -> Handler | None:
        if path in OIDC_PATHS and self.oidc is not None:
            return self.oidc.handler(path)
        if path in ("/healthz", "/livez", "/readyz"):
            return self._health
        if path == "/version":
            return self._version
        if path == "/cacerts" and self.ca_pem is not None:
            return self._cacerts
        if path == "/openapi/v2":
            return self.openapi.v2
        if path == "/openapi/v3":
            return self.openapi.v3_index
        if path.startswith("/openapi/v3/"):
            return self.openapi.v3_document
        return None

    async def _health(self, request: web.Request) -> web.Response:
        if request.path.rstrip("/") == "/readyz" and not self.ready:
            return web.Response(status=500, text="[-]store-ready failed: not ready yet\n",
                                content_type="text/plain")
        return web.Response(text="ok", content_type="text/plain")

    async def _version(self, request: web.Request) -> web.Response:
        return neg.json_response(VERSION_INFO)

    async def _cacerts(self, request: web.Request) -> web.Response:
        """The cluster CA, unauthenticated: joining agents pin it by the hash in their token."""
        assert self.ca_pem is not None
        return web.Response(body=self.ca_pem, content_type="application/x-pem-file")

    async def _discovery(self, request: web.Request, path: str) -> web.Response:
        document = self._discovery_document(request, path)
        if document is None:
            raise errors.StatusError(404, "NotFound",
                                     "the server could not find the requested resource")
        body, content_type = document
        response = neg.json_response(body)
        response.content_type = content_type.split(";")[0]
        if content_type != neg.JSON:
            response.headers["Content-Type"] = content_type
        return response

    def _discovery_document(self, request: web.Request, path: str) -> tuple[Any, str] | None:
        aggregated = discovery.wants_aggregated(request.headers.get("Accept", ""))
        if path in ("/api", "/apis") and aggregated:
            return discovery.aggregated(self.resources, core=path == "/api",
                                        content_type=aggregated), aggregated
        parts = [p for p in path.split("/") if p]
        document: Any = None
        if parts == ["api"]:
            document = discovery.api_versions(self.server_address)
        elif parts == ["apis"]:
            document = discovery.api_group_list(self.resources)
        elif len(parts) == 2 and parts[0] == "api":
            document = discovery.api_resource_list(self.resources, "", parts[1])
        elif len(parts) == 2 and parts[0] == "apis":
            document = discovery.api_group(self.resources, parts[1])
        elif len(parts) == 3 and parts[0] == "apis":
            document = discovery.api_resource_list(self.resources, parts[1], parts[2])
        return (document, neg.JSON) if document is not None else None

    async def _dispatch(self, request: web.Request, info: ResourceInfo,
                        ri: RequestInfo) -> web.StreamResponse:
        if info.group == METRICS_GROUP and self.node_metrics is not None:  # computed, read-only
            return await self.node_metrics.serve(request, info, ri)
        if info.group in VIRTUAL_GROUPS:  # create-only reviews, never stored
            return await self.reviews.create(request, info, ri)
        if info.namespaced and ri.namespace == "" and request.method not in ("GET",):
            raise errors.StatusError(404, "NotFound",
                                     "the server could not find the requested resource")
        if self.hpa_v1.serves(info):
            return await self.hpa_v1.serve(request, info, ri)
        csr_handler = self.certificate_requests.route(request.method, info, ri)
        if csr_handler is not None:  # the requester's identity, approval, the signer's status
            return await csr_handler(request, info, ri)
        if ri.subresource:
            return await self.subresources.dispatch(request, info, ri)
        method = request.method
        if method == "GET":
            if request.query.get("watch") in ("true", "1"):
                return await self.watches.watch(request, info, ri)
            if ri.name:
                return await self.handlers.get(request, info, ri)
            return await self.handlers.list_objects(request, info, ri)
        if method == "POST" and not ri.name:
            return await self.handlers.create(request, info, ri)
        if method == "PUT" and ri.name:
            return await self.handlers.update(request, info, ri)
        if method == "PATCH" and ri.name:
            return await self.handlers.patch(request, info, ri)
        if method == "DELETE":
            if ri.name:
                return await self.handlers.delete(request, info, ri)
            return await self.handlers.delete_collection(request, info, ri)
        raise errors.method_not_allowed(method, info.plural)
