"""PATCH: JSON patch, merge patch, strategic merge patch and server-side apply.

The patch is applied to the current object inside a conflict-retry loop (Kubernetes'
``GuaranteedUpdate``), so a patch without a resourceVersion never fails on a concurrent
write. A failed JSON-patch ``test`` is a 422 (kopf relies on it); a malformed patch a 400.

Server-side apply is the subset kubectl ``apply --server-side`` and the Python client's
``server_side_apply`` need: the applied configuration creates the object when absent and
is otherwise merged into it with strategic-merge semantics (merge patch for custom
resources). Field ownership and apply conflicts are not tracked: a manager's apply never
fails with a conflict, and fields it stops applying are kept, not removed.
"""

from __future__ import annotations

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
from steersman.apiserver.fieldvalidation import validate_fields
from steersman.apiserver.generic import GenericRegistry
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


def patched(info: ResourceInfo, current: Object, content_type: str, patch: Any) -> Object:
    """``current`` with ``patch`` applied, or a 4xx StatusError."""
    try:
        if content_type == JSON_PATCH:
            if not isinstance(patch, list):
                raise MalformedPatch("a JSON patch must be a list of operations")
            return apply_json_patch(current, patch)
        if not isinstance(patch, dict):
            raise MalformedPatch("a merge patch must be a JSON object")
        if content_type == MERGE_PATCH:
            return apply_merge_patch(current, patch)
        return apply_strategic_merge_patch(current, patch, _schema(info))
    except PatchTestFailed as exc:
        raise errors.StatusError(
            422, "Invalid",
            f"the server rejected our request due to an error in our request: {exc}") from exc
    except PatchError as exc:
        raise errors.bad_request(f"the patch could not be applied: {exc}") from exc


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
        return await _server_side_apply(registry, info, ri, patch, mode, dry_run)
    warnings: list[str] = []
    effective = MERGE_PATCH if content_type == STRATEGIC and ri.subresource == "scale" else (
        content_type)

    def mutate(current: Object) -> Object:
        result = patched(info, current, effective, patch)
        warnings[:] = validate_fields(info, result, mode)
        return result

    obj = await registry.guaranteed_update(info, ri.namespace, ri.name, mutate,
                                           subresource=ri.subresource, dry_run=dry_run)
    return PatchResult(obj, False, warnings)


async def _server_side_apply(registry: GenericRegistry, info: ResourceInfo, ri: RequestInfo,
                             applied: Any, mode: str, dry_run: bool) -> PatchResult:
    if not isinstance(applied, dict):
        raise errors.bad_request("an apply patch must be a YAML or JSON object")
    warnings = validate_fields(info, applied, mode)
    current = registry.cached(info, ri.namespace, ri.name)
    if current is None and not ri.subresource:
        applied.setdefault("metadata", {}).setdefault("name", ri.name)
        try:
            created = await registry.create(info, ri.namespace, applied, dry_run=dry_run)
            return PatchResult(created, True, warnings)
        except errors.StatusError as exc:
            if exc.reason != "AlreadyExists":
                raise
    content_type = MERGE_PATCH if info.crd is not None else STRATEGIC

    def mutate(live: Object) -> Object:
        return patched(info, live, content_type, applied)

    obj = await registry.guaranteed_update(info, ri.namespace, ri.name, mutate,
                                           subresource=ri.subresource, dry_run=dry_run)
    return PatchResult(obj, False, warnings)
