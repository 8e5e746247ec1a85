"""Field ownership on the API server's write paths (kube-apiserver's ``FieldManager``).

Handlers build one *field tracker* per write and hand it to the generic registry, which
calls it once, right before admission and the store write, with the object about to be
written and the live one (``None`` on create):

* :func:`update_tracker` — create, update, non-apply patch and subresource writes record an
  ``Update`` entry for the request's manager (``fieldManager``, else the User-Agent up to
  its first ``/``). A client may replace ``managedFields`` through the main resource (an
  empty list clears them; an invalid value is ignored); subresources always keep the live
  ones. As upstream, an object nobody tracks yet stays untracked until someone applies.
* :func:`applied_object` and :class:`AppliedFields` — server-side apply: the merged object
  and its managedFields are computed before defaulting, from the live object; the tracker
  only puts those entries back after the registry's metadata rules ran.

The algorithms live in :mod:`steersman.api.ssa`; this module adds requests, Status errors
and the per-resource types.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from aiohttp import web

from steersman.api import errors, ssa
from steersman.api.resources import ResourceInfo
from steersman.api.ssa import lastapplied
from steersman.apiserver import objectmeta

Object = dict[str, Any]
_MAX_MANAGER_LENGTH = 128
_TRUE = ("1", "t", "T", "true", "TRUE", "True")
_FALSE = ("0", "f", "F", "false", "FALSE", "False")
# The types of custom resources, one per CRD version schema (kept with it so that its id
# cannot be reused): nodes grow their children lazily, and walks remember results by node.
_CRD_ROOTS_LIMIT = 256
_crd_roots: OrderedDict[int, tuple[Object | None, ssa.TypeNode]] = OrderedDict()


def request_manager(request: web.Request, options_kind: str) -> str:
    """The request's field manager: ``fieldManager``, else the User-Agent's product name."""
    manager = request.query.get("fieldManager", "")
    _check_manager(manager, options_kind)
    return manager or request.headers.get("User-Agent", "").split("/")[0]


def apply_options(request: web.Request) -> tuple[str, bool]:
    """``(fieldManager, force)`` of an apply patch, validated as ``PatchOptions``."""
    manager = request.query.get("fieldManager", "")
    if not manager:
        raise _invalid_options("PatchOptions", errors.required(
            "fieldManager", "is required for apply patch"))
    _check_manager(manager, "PatchOptions")
    return manager, _force(request)


def check_no_force(request: web.Request) -> None:
    if "force" in request.query:
        raise _invalid_options("PatchOptions", errors.forbidden(
            "force", "may not be specified for non-apply patch"))


def _force(request: web.Request) -> bool:
    raw = request.query.get("force", "false")
    if raw in _TRUE or raw in _FALSE:
        return raw in _TRUE
    raise errors.bad_request(f'invalid force "{raw}": must be true or false')


def _check_manager(manager: str, options_kind: str) -> None:
    if len(manager) > _MAX_MANAGER_LENGTH:
        raise _invalid_options(options_kind, errors.too_long("fieldManager",
                                                             _MAX_MANAGER_LENGTH))
    if not manager.isprintable():
        raise _invalid_options(options_kind, errors.invalid(
            "fieldManager", manager, "must only contain printable characters"))


def _invalid_options(kind: str, cause: errors.FieldError) -> errors.StatusError:
    return errors.invalid_object(kind, "", [cause], "meta.k8s.io")


def type_root(info: ResourceInfo) -> ssa.TypeNode:
    if info.crd is not None:
        schema = info.crd.get("schema")
        return _crd_root(schema if isinstance(schema, dict) else None)
    return ssa.builtin_root(info.group, info.version, info.kind)


def _crd_root(schema: Object | None) -> ssa.TypeNode:
    cached = _crd_roots.get(id(schema))
    if cached is not None and cached[0] is schema:
        _crd_roots.move_to_end(id(schema))
        return cached[1]
    root = ssa.root(schema)
    _crd_roots[id(schema)] = (schema, root)
    if len(_crd_roots) > _CRD_ROOTS_LIMIT:
        _crd_roots.popitem(last=False)
    return root


def endpoint_fields(info: ResourceInfo, subresource: str) -> ssa.EndpointFields:
    return ssa.EndpointFields.for_endpoint(
        subresource=subresource, has_status=objectmeta.has_status_subresource(info))


def _without_managed_fields(obj: Object | None) -> Object:
    if obj is None:
        return {}
    body = dict(obj)
    body["metadata"] = {k: v for k, v in (obj.get("metadata") or {}).items()
                        if k != "managedFields"}
    return body


def _decoded(entries: Any) -> ssa.Managers:
    try:
        return ssa.decode(entries)
    except ssa.InvalidManagedFields:
        return {}


def _set_managed_fields(obj: Object, managers: ssa.Managers) -> None:
    entries = ssa.encode(ssa.cap_update_managers(managers))
    meta = obj.setdefault("metadata", {})
    if entries:
        meta["managedFields"] = entries
    else:
        meta.pop("managedFields", None)


class UpdateTracker:
    """Records a non-apply write as an ``Update`` by one manager."""

    def __init__(self, info: ResourceInfo, *, manager: str, subresource: str, now: str) -> None:
        self._info = info
        self._key = ssa.ManagerKey.of(manager, ssa.UPDATE, info.api_version, subresource)
        self._subresource = subresource
        self._now = now

    def __call__(self, new: Object, old: Object | None) -> None:
        managers = self._base_managers(new, old)
        if not managers and old is not None:
            new["metadata"].pop("managedFields", None)
            return
        updated = ssa.update(
            old=_without_managed_fields(old), new=_without_managed_fields(new),
            managers=managers, manager=self._key, api_version=self._info.api_version,
            root=type_root(self._info), keep=endpoint_fields(self._info, self._subresource),
            now=self._now)
        _set_managed_fields(new, updated)

    def _base_managers(self, new: Object, old: Object | None) -> ssa.Managers:
        """The ownership the write starts from (upstream ``decodeLiveOrNew``)."""
        live = _decoded(((old or {}).get("metadata") or {}).get("managedFields"))
        if self._subresource:
            return live
        requested = new["metadata"].get("managedFields")
        if isinstance(requested, list) and _is_reset(requested):
            return {}
        try:
            given = ssa.decode(requested)
        except ssa.InvalidManagedFields:
            return live
        return given or live


def _is_reset(entries: list[Any]) -> bool:
    """``[]``, or one entry with nothing in it, clears managedFields."""
    if not entries:
        return True
    only = entries[0]
    return len(entries) == 1 and isinstance(only, dict) and not any(only.values())


def update_tracker(info: ResourceInfo, *, manager: str, subresource: str,
                   now: str) -> UpdateTracker:
    return UpdateTracker(info, manager=manager, subresource=subresource, now=now)


class AppliedFields:
    """Puts the managedFields an apply computed back onto the object about to be written."""

    def __init__(self) -> None:
        self.entries: list[Any] | None = None

    def remember(self, obj: Object) -> Object:
        self.entries = obj["metadata"].get("managedFields")
        return obj

    def __call__(self, new: Object, old: Object | None) -> None:
        if self.entries:
            new["metadata"]["managedFields"] = self.entries
        else:
            new["metadata"].pop("managedFields", None)


def applied_object(info: ResourceInfo, live: Object | None, config: Object, *, manager: str,
                   subresource: str, force: bool, now: str) -> Object:
    """``live`` (``None``: absent) with ``config`` applied, managedFields included."""
    root = type_root(info)
    body = _without_managed_fields(live)
    managers = _decoded(((live or {}).get("metadata") or {}).get("managedFields"))
    key = ssa.ManagerKey.of(manager, ssa.APPLY, info.api_version, subresource)

    def run(forced: bool) -> ssa.Applied:
        return ssa.apply(live=body, config=config, managers=managers, manager=key,
                         api_version=info.api_version, force=forced, root=root,
                         keep=endpoint_fields(info, subresource), now=now)

    try:
        result = _apply_allowing_last_applied(run, force, body, manager, root)
    except ssa.ApplyConflicts as exc:
        raise conflict_error(exc.conflicts) from exc
    obj = result.obj
    lastapplied.sync_last_applied(obj, config, manager)
    _set_managed_fields(obj, result.managers)
    return obj


def _apply_allowing_last_applied(run: Callable[[bool], ssa.Applied], force: bool,
                                 live: Object, manager: str,
                                 root: ssa.TypeNode) -> ssa.Applied:
    """Conflicts ``kubectl`` inherits from its own client-side apply are forced through."""
    try:
        return run(force)
    except ssa.ApplyConflicts as exc:
        if manager != lastapplied.KUBECTL_MANAGER:
            raise
        allowed = lastapplied.allowed_conflicts(live, root)
        remaining = [c for c in exc.conflicts if not allowed.has(c.path)]
        if remaining:
            raise ssa.ApplyConflicts(remaining) from exc
        return run(True)


def conflict_error(conflicts: list[ssa.Conflict]) -> errors.StatusError:
    causes = [{"reason": "FieldManagerConflict",
               "message": f"conflict with {c.manager.describe()}", "field": c.field()}
              for c in conflicts]
    return errors.StatusError(409, "Conflict", ssa.ApplyConflicts(conflicts).args[0],
                              {"causes": causes})
