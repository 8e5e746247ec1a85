"""The async REST client: Kubernetes verbs on :class:`~steersman.client.resource.Resource`\\ s.

``Client`` speaks JSON to one API server through one keep-alive aiohttp session (see
:mod:`.transport` for throttling and retries). Objects are plain dicts, decoded with orjson
and returned as the server sent them. Every non-2xx answer raises the
:class:`~steersman.api.errors.StatusError` of its ``Status`` body (``code``, ``reason``),
a 410 raises :class:`~steersman.client.errors.ResourceExpired`.

Namespaced single-object verbs need a namespace: the argument, else the object's
``metadata.namespace``; nothing falls back silently to the kubeconfig's namespace
(:attr:`Client.namespace` holds it for callers that want kubectl's behaviour). Listing or
watching a namespaced resource with ``namespace=""`` spans all namespaces.

Neighbours: :mod:`.informer` lists and watches through it; :mod:`.leaderelection` writes
Leases with it. It never imports the store or the API server.
"""

from __future__ import annotations

import enum
import secrets
from types import TracebackType
from typing import Any

import aiohttp
import orjson

from steersman.api.meta import now_rfc3339
from steersman.client.clock import Clock, SystemClock
from steersman.client.config import ClientConfig
from steersman.client.errors import status_error
from steersman.client.local import LocalServer
from steersman.client.resource import EVENTS, Resource
from steersman.client.transport import Params, Request, RetryPolicy, Transport
from steersman.client.watch import EventSource, WatchStream

Object = dict[str, Any]
PatchBody = dict[str, Any] | list[dict[str, Any]]
_WATCH_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=10, sock_read=None)


class PatchType(enum.StrEnum):
    """The PATCH flavours, named by their content types."""

    JSON = "application/json-patch+json"
    MERGE = "application/merge-patch+json"
    STRATEGIC = "application/strategic-merge-patch+json"
    APPLY = "application/apply-patch+yaml"


class Client:
    """Kubernetes verbs against one API server. Use ``async with`` or call :meth:`close`."""

    def __init__(self, config: ClientConfig, *, qps: float = 50.0, burst: int = 100,
                 clock: Clock | None = None, retry: RetryPolicy | None = None,
                 connection_limit: int = 100, user_agent: str = "steersman",
                 local: LocalServer | None = None) -> None:
        """``local``: an API server in this process to call instead of ``config.server``
        (see :mod:`.local`); ``config`` then only names the server in messages."""
        self.config = config
        self.clock: Clock = clock or SystemClock()
        self._transport = Transport(config, clock=self.clock, qps=qps, burst=burst,
                                    retry=retry or RetryPolicy(),
                                    connection_limit=connection_limit, user_agent=user_agent,
                                    local=local)

    @property
    def namespace(self) -> str:
        """The default namespace of the configuration (the kubeconfig context's)."""
        return self.config.namespace

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        await self._transport.close()

    async def get(self, resource: Resource, name: str, *, namespace: str = "",
                  subresource: str = "") -> Object:
        path = resource.path(namespace=_scope(resource, namespace), name=name,
                             subresource=subresource)
        return await self._call("GET", path)

    async def get_path(self, path: str) -> Object:
        """GET a path outside the resource layout, e.g. the discovery documents ``/apis``."""
        return await self._call("GET", path)

    async def list(self, resource: Resource, *, namespace: str = "", label_selector: str = "",
                   field_selector: str = "", limit: int = 0, continue_token: str = "",
                   resource_version: str = "") -> Object:
        """One page of the collection (all of it unless ``limit`` is set)."""
        params = _selectors(label_selector, field_selector)
        params.update(_optional(limit=str(limit) if limit else "",
                                resourceVersion=resource_version))
        params.update(_optional(**{"continue": continue_token}))
        return await self._call("GET", resource.path(namespace=namespace), params=params)

    async def list_all(self, resource: Resource, *, namespace: str = "",
                       label_selector: str = "", field_selector: str = "",
                       page_size: int = 500) -> Object:
        """Every item, fetched ``page_size`` at a time; ``metadata`` is the first page's."""
        first = await self.list(resource, namespace=namespace, label_selector=label_selector,
                                field_selector=field_selector, limit=page_size)
        items, token = list(first.get("items") or []), _continue(first)
        while token:
            page = await self.list(resource, namespace=namespace, label_selector=label_selector,
                                   field_selector=field_selector, limit=page_size,
                                   continue_token=token)
            items.extend(page.get("items") or [])
            token = _continue(page)
        return {**first, "items": items}

    async def create(self, resource: Resource, obj: Object, *, namespace: str = "",
                     field_manager: str = "") -> Object:
        path = resource.path(namespace=_scope(resource, namespace, obj))
        return await self._call("POST", path, body=obj,
                                params=_optional(fieldManager=field_manager))

    async def update(self, resource: Resource, obj: Object, *, namespace: str = "",
                     subresource: str = "", field_manager: str = "") -> Object:
        """PUT the whole object (or to a subresource such as ``namespaces/finalize``); its
        ``metadata.resourceVersion`` makes it conditional."""
        return await self._put(resource, obj, namespace, subresource, field_manager)

    async def update_status(self, resource: Resource, obj: Object, *, namespace: str = "",
                            field_manager: str = "") -> Object:
        """PUT the object to its ``status`` subresource."""
        return await self._put(resource, obj, namespace, "status", field_manager)

    async def patch(self, resource: Resource, name: str, patch: PatchBody, *,
                    namespace: str = "", patch_type: PatchType = PatchType.MERGE,
                    subresource: str = "", field_manager: str = "",
                    force: bool = False) -> Object:
        if patch_type is PatchType.APPLY and not field_manager:
            raise ValueError("server-side apply needs a field_manager")
        params = _optional(fieldManager=field_manager, force="true" if force else "")
        path = resource.path(namespace=_scope(resource, namespace), name=name,
                             subresource=subresource)
        return await self._call("PATCH", path, body=patch, params=params,
                                content_type=str(patch_type))

    async def delete(self, resource: Resource, name: str, *, namespace: str = "",
                     propagation_policy: str = "", grace_period_seconds: int | None = None,
                     preconditions: Object | None = None) -> Object:
        """Delete one object; returns what the server answers (the object or a Status)."""
        body = _delete_options(propagation_policy, grace_period_seconds, preconditions)
        path = resource.path(namespace=_scope(resource, namespace), name=name)
        return await self._call("DELETE", path, body=body)

    async def delete_collection(self, resource: Resource, *, namespace: str = "",
                                label_selector: str = "", field_selector: str = "",
                                propagation_policy: str = "") -> Object:
        body = _delete_options(propagation_policy, None, None)
        return await self._call("DELETE", resource.path(namespace=namespace), body=body,
                                params=_selectors(label_selector, field_selector))

    async def post_subresource(self, resource: Resource, name: str, subresource: str,
                               body: Object, *, namespace: str = "") -> Object:
        """POST to a subresource such as ``pods/binding`` or ``pods/eviction``."""
        path = resource.path(namespace=_scope(resource, namespace), name=name,
                             subresource=subresource)
        return await self._call("POST", path, body=body)

    def watch(self, resource: Resource, *, namespace: str = "", resource_version: str = "",
              label_selector: str = "", field_selector: str = "",
              timeout_seconds: int | None = None, allow_bookmarks: bool = True) -> WatchStream:
        """A watch from ``resource_version`` (``""``: current state as ADDED events first)."""
        params = _selectors(label_selector, field_selector)
        params.update(watch="true", **_optional(resourceVersion=resource_version))
        if allow_bookmarks:
            params["allowWatchBookmarks"] = "true"
        if timeout_seconds is not None:
            params["timeoutSeconds"] = str(timeout_seconds)
        request = Request("GET", resource.path(namespace=namespace), params,
                          timeout=_WATCH_TIMEOUT)

        async def open_source() -> EventSource:
            local = self._transport.local_watch(request)
            if local is not None:
                return EventSource(*local)
            response = await self._transport.send(request, stream=True)
            if response.status >= 400:
                raise status_error(response.status, await response.read())
            assert isinstance(response, aiohttp.ClientResponse)
            return EventSource.of_response(response)

        return WatchStream(open_source, resource_version=resource_version)

    async def create_event(self, regarding: Object, *, reason: str, message: str,
                           type: str = "Normal", component: str = "steersman",
                           instance: str = "") -> Object:
        """Record a core/v1 Event about ``regarding`` (in its namespace, or ``default``)."""
        event = _event(regarding, reason, message, type, component, instance,
                       now_rfc3339(self.clock.now()))
        return await self.create(EVENTS, event)

    async def _put(self, resource: Resource, obj: Object, namespace: str, subresource: str,
                   field_manager: str) -> Object:
        name = str((obj.get("metadata") or {}).get("name") or "")
        if not name:
            raise ValueError("update needs metadata.name")
        path = resource.path(namespace=_scope(resource, namespace, obj), name=name,
                             subresource=subresource)
        return await self._call("PUT", path, body=obj,
                                params=_optional(fieldManager=field_manager))

    async def _call(self, method: str, path: str, *, params: Params | None = None,
                    body: PatchBody | None = None,
                    content_type: str = "application/json") -> Object:
        request = Request(method, path, params or {},
                          None if body is None else orjson.dumps(body), content_type)
        response = await self._transport.send(request)
        data = await response.read()
        if response.status >= 400:
            raise status_error(response.status, data)
        decoded: Object = orjson.loads(data) if data else {}
        return decoded


def _scope(resource: Resource, namespace: str, obj: Object | None = None) -> str:
    if not resource.namespaced:
        return ""
    found = namespace or str(((obj or {}).get("metadata") or {}).get("namespace") or "")
    if not found:
        raise ValueError(f"{resource.plural} are namespaced: pass a namespace")
    return found


def _optional(**values: str) -> dict[str, str]:
    return {key: value for key, value in values.items() if value}


def _selectors(label_selector: str, field_selector: str) -> dict[str, str]:
    return _optional(labelSelector=label_selector, fieldSelector=field_selector)


def _continue(page: Object) -> str:
    return str((page.get("metadata") or {}).get("continue") or "")


def _delete_options(propagation_policy: str, grace_period_seconds: int | None,
                    preconditions: Object | None) -> Object:
    options: Object = {"kind": "DeleteOptions", "apiVersion": "v1"}
    if propagation_policy:
        options["propagationPolicy"] = propagation_policy
    if grace_period_seconds is not None:
        options["gracePeriodSeconds"] = grace_period_seconds
    if preconditions:
        options["preconditions"] = preconditions
    return options


def _event(regarding: Object, reason: str, message: str, type: str, component: str,
           instance: str, now: str) -> Object:
    metadata = regarding.get("metadata") or {}
    namespace = str(metadata.get("namespace") or "default")
    name = str(metadata.get("name") or "unknown")
    involved = {"kind": regarding.get("kind", ""), "apiVersion": regarding.get("apiVersion", ""),
                "name": name, "namespace": str(metadata.get("namespace") or ""),
                "uid": metadata.get("uid", ""),
                "resourceVersion": metadata.get("resourceVersion", "")}
    return {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"{name}.{secrets.token_hex(8)}", "namespace": namespace},
        "involvedObject": {k: v for k, v in involved.items() if v},
        "reason": reason, "message": message, "type": type,
        "source": {"component": component, **({"host": instance} if instance else {})},
        "reportingComponent": component, "reportingInstance": instance or component,
        "firstTimestamp": now, "lastTimestamp": now, "count": 1,
    }
