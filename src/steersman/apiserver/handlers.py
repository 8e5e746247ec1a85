"""HTTP verbs on resources: get, list, create, update, patch, delete, deletecollection.

Each handler turns a request (path already parsed into a ``RequestInfo``, resource looked up)
into calls on :class:`~steersman.apiserver.generic.GenericRegistry` and answers with the
object, a list, a Table or a ``Status``. Watches are in :mod:`steersman.apiserver.watch`,
subresources in :mod:`steersman.apiserver.subresources`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from steersman.api import errors
from steersman.api.resources import RETURNS_DELETED_OBJECT, ResourceInfo
from steersman.api.selectors import (
    SelectorError,
    parse_field_selector,
    parse_label_selector,
)
from steersman.apiserver import fieldmanager
from steersman.apiserver import negotiation as neg
from steersman.apiserver.fieldvalidation import validate_fields
from steersman.apiserver.generic import DeleteOptions, GenericRegistry, ListOptions, ListPage
from steersman.apiserver.patching import PATCH_TYPES, apply_patch
from steersman.apiserver.requestinfo import RequestInfo

Object = dict[str, Any]
_ALWAYS_FIELDS = ("metadata.name", "metadata.namespace")


class ResourceHandlers:
    def __init__(self, registry: GenericRegistry) -> None:
        self.registry = registry

    async def get(self, request: web.Request, info: ResourceInfo, ri: RequestInfo) -> web.Response:
        obj = await self.registry.get(info, ri.namespace, ri.name)
        if neg.wants_table(request):
            return neg.json_response(neg.table(info, [obj], neg.include_object(request),
                                               revision=obj["metadata"]["resourceVersion"]))
        return neg.json_response(obj)

    async def list_objects(self, request: web.Request, info: ResourceInfo,
                   ri: RequestInfo) -> web.Response:
        page = await self.registry.list_page(info, ri.namespace, list_options(request, info))
        if neg.wants_table(request):
            return neg.json_response(neg.table(
                info, page.items, neg.include_object(request), revision=str(page.revision),
                continue_token=page.continue_token))
        return neg.json_response(list_body(info, page))

    async def create(self, request: web.Request, info: ResourceInfo,
                     ri: RequestInfo) -> web.Response:
        if "create" not in info.verbs:
            raise errors.method_not_allowed("POST", info.plural)
        obj, warnings = await self._object_from_body(request, info)
        tracker = fieldmanager.update_tracker(
            info, manager=fieldmanager.request_manager(request, "CreateOptions"),
            subresource="", now=self.registry.now())
        created = await self.registry.create(info, ri.namespace, obj, dry_run=dry_run(request),
                                             track_fields=tracker)
        return neg.json_response(created, 201, warning_headers(warnings))

    async def update(self, request: web.Request, info: ResourceInfo,
                     ri: RequestInfo) -> web.Response:
        obj, warnings = await self._object_from_body(request, info)
        tracker = fieldmanager.update_tracker(
            info, manager=fieldmanager.request_manager(request, "UpdateOptions"),
            subresource=ri.subresource, now=self.registry.now())
        saved, created = await self.registry.update(
            info, ri.namespace, ri.name, obj, subresource=ri.subresource,
            dry_run=dry_run(request), create_if_missing=_create_on_update(info),
            track_fields=tracker)
        return neg.json_response(saved, 201 if created else 200, warning_headers(warnings))

    async def patch(self, request: web.Request, info: ResourceInfo,
                    ri: RequestInfo) -> web.Response:
        content_type = neg.media_type(request)
        if content_type not in PATCH_TYPES:
            raise errors.unsupported_media_type(content_type)
        patch = neg.parse_document(await neg.read_body(request), content_type)
        result = await apply_patch(self.registry, request, info, ri, content_type, patch)
        return neg.json_response(result.obj, 201 if result.created else 200,
                                 warning_headers(result.warnings))

    async def delete(self, request: web.Request, info: ResourceInfo,
                     ri: RequestInfo) -> web.Response:
        options = await delete_options(request)
        obj, gone = await self.registry.delete(info, ri.namespace, ri.name, options)
        if gone and (info.group, info.plural) not in RETURNS_DELETED_OBJECT:
            return neg.json_response(success_status(info, obj))
        return neg.json_response(obj)

    async def delete_collection(self, request: web.Request, info: ResourceInfo,
                                ri: RequestInfo) -> web.Response:
        if "deletecollection" not in info.verbs:
            raise errors.method_not_allowed("DELETE", info.plural)
        options = await delete_options(request)
        page = await self.registry.list_page(info, ri.namespace, list_options(request, info))
        deleted: list[Object] = []
        for obj in page.items:
            meta = obj["metadata"]
            try:
                result, _ = await self.registry.delete(
                    info, meta.get("namespace", ""), meta["name"], options)
            except errors.StatusError as exc:
                if exc.code != 404:
                    raise
                continue
            deleted.append(result)
        return neg.json_response(list_body(info, ListPage(deleted, page.revision, "", None)))

    async def _object_from_body(self, request: web.Request,
                                info: ResourceInfo) -> tuple[Object, list[str]]:
        content_type = neg.media_type(request)
        neg.check_body_type(content_type, (neg.JSON, "application/yaml",
                                           "application/vnd.kubernetes.protobuf"))
        obj = neg.object_body(neg.parse_document(await neg.read_body(request), content_type),
                              info)
        warnings = validate_fields(info, obj, request.query.get("fieldValidation", "Warn"))
        return obj, warnings


Handler = Callable[[web.Request, ResourceInfo, RequestInfo], Awaitable[web.Response]]


def _create_on_update(info: ResourceInfo) -> bool:
    """kube-apiserver lets PUT create these kinds (AllowCreateOnUpdate)."""
    return info.kind in ("Endpoints", "Lease", "Event", "LimitRange", "ResourceQuota") or (
        info.group == "" and info.kind in ("Node",))


def dry_run(request: web.Request) -> bool:
    values = request.query.getall("dryRun", [])
    for value in values:
        if value != "All":
            raise errors.bad_request(f'unsupported dryRun value "{value}": only "All" is supported')
    return bool(values)


def warning_headers(warnings: list[str]) -> dict[str, str] | None:
    if not warnings:
        return None
    return {"Warning": ", ".join(f'299 - "{w}"' for w in warnings)}


def list_options(request: web.Request, info: ResourceInfo) -> ListOptions:
    query = request.query
    try:
        label = parse_label_selector(query["labelSelector"]) if query.get("labelSelector") else None
        field = parse_field_selector(query["fieldSelector"]) if query.get("fieldSelector") else None
    except SelectorError as exc:
        raise errors.bad_request(str(exc)) from exc
    if field is not None:
        check_fields(info, field.fields)
    rv, match = query.get("resourceVersion", ""), query.get("resourceVersionMatch", "")
    _check_resource_version(rv, match)
    return ListOptions(label=label, field=field, limit=_int_query(request, "limit"),
                       continue_token=query.get("continue", ""), resource_version=rv,
                       resource_version_match=match)


def check_fields(info: ResourceInfo, fields: set[str] | frozenset[str]) -> None:
    for name in fields:
        if name not in _ALWAYS_FIELDS and name not in info.field_selectors:
            raise errors.bad_request(f'field label not supported: {name}')


def _check_resource_version(rv: str, match: str) -> None:
    if rv and rv != "0" and not rv.isdigit():
        raise errors.bad_request(f'invalid resourceVersion "{rv}": must be an integer')
    if match and not rv:
        raise errors.invalid_object("ListOptions", "", [errors.forbidden(
            "resourceVersionMatch",
            "resourceVersionMatch is forbidden unless resourceVersion is provided")],
            "meta.k8s.io")
    if match not in ("", "NotOlderThan", "Exact"):
        raise errors.invalid_object("ListOptions", "", [errors.not_supported(
            "resourceVersionMatch", match, ["Exact", "NotOlderThan", ""])], "meta.k8s.io")


def _int_query(request: web.Request, name: str) -> int:
    raw = request.query.get(name, "")
    if not raw:
        return 0
    try:
        value = int(raw)
    except ValueError as exc:
        raise errors.bad_request(f'invalid {name} "{raw}": must be an integer') from exc
    return max(value, 0)


async def delete_options(request: web.Request) -> DeleteOptions:
    body: Object = {}
    raw = await neg.read_body(request)
    if raw.strip():
        data = neg.parse_document(raw, neg.media_type(request))
        if isinstance(data, dict):
            body = data
    query = request.query
    grace = body.get("gracePeriodSeconds", query.get("gracePeriodSeconds"))
    policy = body.get("propagationPolicy") or query.get("propagationPolicy", "")
    orphan = body.get("orphanDependents", query.get("orphanDependents"))
    if not policy and orphan in (True, "true"):
        policy = "Orphan"
    if policy not in ("", "Orphan", "Foreground", "Background"):
        raise errors.bad_request(
            f'unsupported propagationPolicy "{policy}": use Orphan, Foreground or Background')
    preconditions = body.get("preconditions") or {}
    return DeleteOptions(
        grace_period_seconds=int(grace) if grace is not None else None,
        propagation_policy=policy,
        precondition_uid=str(preconditions.get("uid") or ""),
        precondition_resource_version=str(preconditions.get("resourceVersion") or ""),
        dry_run=dry_run(request) or body.get("dryRun") == ["All"],
    )


def list_body(info: ResourceInfo, page: ListPage) -> Object:
    metadata: Object = {"resourceVersion": str(page.revision)}
    if page.continue_token:
        metadata["continue"] = page.continue_token
    return {"kind": info.kind_list, "apiVersion": info.api_version, "metadata": metadata,
            "items": page.items}


def success_status(info: ResourceInfo, obj: Object) -> Object:
    details: Object = {"name": obj["metadata"]["name"], "kind": info.plural,
                       "uid": obj["metadata"].get("uid", "")}
    if info.group:
        details["group"] = info.group
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": details}
