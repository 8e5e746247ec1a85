"""PATCH: JSON patch, merge patch, strategic merge patch and server-side apply.

The patch is applied to the current object inside a conflict-retry loop (Kubernetes'
``GuaranteedUpdate``), so a patch without a resourceVersion never fails on a concurrent
write. A failed JSON-patch ``test`` is a 422 (kopf relies on it); a malformed patch a 400.

Server-side apply (``application/apply-patch+yaml``) needs ``fieldManager``; the applied
configuration creates the object when absent (201) and is otherwise merged into it with
field ownership (:mod:`steersman.apiserver.fieldmanager`): fields the manager stopped
applying are removed, and changing another manager's fields is a 409 ``Conflict`` listing
them unless ``force=true``. Every other patch records an ``Update`` for its manager.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from steersman.api import errors, schema
from steersman.api.patch import (
    MalformedPatch,
    PatchError,
    PatchTestFailed,
    apply_json_patch,
    apply_merge_patch,
    apply_strategic_merge_patch,
)
from steersman.api.resources import ResourceInfo
from steersman.apiserver import fieldmanager, objectmeta
from steersman.apiserver.fieldvalidation import validate_fields
from steersman.apiserver.generic import GenericRegistry, copy_object
from steersman.apiserver.requestinfo import RequestInfo

Object = dict[str, Any]
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC, APPLY)


@dataclass
class PatchResult:
    obj: Object
    created: bool = False
    warnings: list[str] = field(default_factory=list)


def patched(info: ResourceInfo, current: Object, content_type: str, patch: Any, *,
            reuse: bool = False) -> Object:
    """``current`` with ``patch`` applied, or a 4xx StatusError. ``reuse``: ``current`` is
    the caller's private copy, which it no longer reads; a strategic merge goes into it."""
    try:
        if content_type == JSON_PATCH:
            if not isinstance(patch, list):
                raise MalformedPatch("a JSON patch must be a list of operations")
            return apply_json_patch(current, patch)
        if not isinstance(patch, dict):
            raise MalformedPatch("a merge patch must be a JSON object")
        if content_type == MERGE_PATCH:
            return apply_merge_patch(current, patch)
        return apply_strategic_merge_patch(current, patch, _schema(info), reuse_doc=reuse)
    except PatchTestFailed as exc:
        raise errors.StatusError(
            422, "Invalid",
            f"the server rejected our request due to an error in our request: {exc}") from exc
    except PatchError as exc:
        raise errors.bad_request(f"the patch could not be applied: {exc}") from exc


def _check_requested_version(info: ResourceInfo, live: tuple[str, Any],
                             result: Object) -> None:
    """A patch that sets metadata.resourceVersion is a precondition: stale → 409 Conflict.
    ``live``: the patched object's name and resourceVersion."""
    wanted = (result.get("metadata") or {}).get("resourceVersion")
    name, version = live
    if wanted is not None and str(wanted) != version:
        raise errors.conflict(info.plural, name, info.group)


def _schema(info: ResourceInfo) -> schema.Schema | None:
    if info.crd is not None:
        return None
    return schema.definition_for(info.group, info.version, info.kind)


async def apply_patch(registry: GenericRegistry, request: web.Request, info: ResourceInfo,
                      ri: RequestInfo, content_type: str, patch: Any) -> PatchResult:
    if content_type == STRATEGIC and info.crd is not None:
        raise errors.unsupported_media_type(content_type)
    dry_run = "All" in request.query.getall("dryRun", [])
    mode = request.query.get("fieldValidation", "Warn")
    if content_type == APPLY:
        return await _server_side_apply(registry, request, info, ri, patch, mode, dry_run)
    fieldmanager.check_no_force(request)
    tracker = fieldmanager.update_tracker(
        info, manager=fieldmanager.request_manager(request, "PatchOptions"),
        subresource=ri.subresource, now=registry.now())
    warnings: list[str] = []
    effective = MERGE_PATCH if content_type == STRATEGIC and ri.subresource == "scale" else (
        content_type)

    def mutate(current: Object) -> Object:  # current: guaranteed_update's private copy
        meta = current["metadata"]
        live = meta["name"], meta.get("resourceVersion")  # read before the merge changes them
        result = patched(info, current, effective, patch, reuse=True)
        _check_requested_version(info, live, result)
        warnings[:] = validate_fields(info, result, mode)
        return result

    obj = await registry.guaranteed_update(info, ri.namespace, ri.name, mutate,
                                           subresource=ri.subresource, dry_run=dry_run,
                                           track_fields=tracker)
    return PatchResult(obj, False, warnings)


async def _server_side_apply(registry: GenericRegistry, request: web.Request,
                             info: ResourceInfo, ri: RequestInfo, applied: Any, mode: str,
                             dry_run: bool) -> PatchResult:
    manager, force = fieldmanager.apply_options(request)
    config = applied_configuration(info, ri, applied)
    warnings = validate_fields(info, config, mode)

    def apply_to(live: Object | None) -> Object:
        return fieldmanager.applied_object(
            info, live, copy_object(config), manager=manager, subresource=ri.subresource,
            force=force, now=registry.now())

    if not ri.subresource and await registry.lookup(info, ri.namespace, ri.name) is None:
        created = await _create_by_apply(registry, info, ri, apply_to, dry_run)
        if created is not None:
            return PatchResult(created, True, warnings)
    fields = fieldmanager.AppliedFields()
    obj = await registry.guaranteed_update(
        info, ri.namespace, ri.name, lambda live: fields.remember(apply_to(live)),
        subresource=ri.subresource, dry_run=dry_run, track_fields=fields)
    return PatchResult(obj, False, warnings)


async def _create_by_apply(registry: GenericRegistry, info: ResourceInfo, ri: RequestInfo,
                           apply_to: Callable[[Object | None], Object],
                           dry_run: bool) -> Object | None:
    """The object the apply created, or ``None`` when someone else created it first."""
    fields = fieldmanager.AppliedFields()
    obj = fields.remember(apply_to(None))
    try:
        return await registry.create(info, ri.namespace, obj, dry_run=dry_run,
                                     track_fields=fields)
    except errors.StatusError as exc:
        if exc.reason != "AlreadyExists":
            raise
    return None


def applied_configuration(info: ResourceInfo, ri: RequestInfo, applied: Any) -> Object:
    """The apply patch as an object of this endpoint, or a 400 saying what is wrong."""
    if not isinstance(applied, dict):
        raise errors.bad_request("an apply patch must be a YAML or JSON object")
    for field_name in ("apiVersion", "kind"):
        if not applied.get(field_name):
            raise errors.bad_request(f"Object '{field_name[0].upper()}{field_name[1:]}' is "
                                     f"missing in the apply patch")
    if applied["apiVersion"] != info.api_version:
        raise errors.bad_request(
            f"Incorrect version specified in apply patch. Specified patch version: "
            f"{applied['apiVersion']}, expected: {info.api_version}")
    objectmeta.check_type_meta(info, applied)
    meta = applied.get("metadata")
    if not isinstance(meta, dict):
        meta = applied["metadata"] = {}
    if meta.get("managedFields") is not None:
        raise errors.bad_request("metadata.managedFields must be nil")
    objectmeta.check_name_matches(applied, ri.name)
    if info.namespaced and meta.get("namespace") not in (None, "", ri.namespace):
        raise errors.bad_request(
            "the namespace of the provided object does not match the namespace sent on the "
            "request")
    meta["name"] = ri.name
    return applied
