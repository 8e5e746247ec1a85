"""The one generic CRUD implementation behind every resource (kube-apiserver's generic ``Store``).

Reads come from the watch cache after it has caught up with the store (consistent reads);
writes go to the store with the revision they were based on (optimistic concurrency), so a
lost race is a ``409 Conflict``, never a lock. Kind-specific rules come from strategies
(:mod:`steersman.api.strategies`) and stateful admission plugins (``Admission``: namespace
lifecycle, IP and port allocation, CRD registration), called in a fixed order:
metadata → strategy defaults → strategy validation → admission → store.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from steersman.api import errors
from steersman.api.custom_resources import CustomResourceStrategy, served_object
from steersman.api.meta import now_rfc3339
from steersman.api.resources import Registry, ResourceInfo
from steersman.api.selectors import FieldSelector, LabelSelector, field_value
from steersman.api.strategies import default_job_selector, strategy_for
from steersman.api.strategy import Strategy
from steersman.apiserver import objectmeta
from steersman.apiserver.watchcache import CachedEvent, WatchCache, decode_object
from steersman.store.interface import (
    Compacted,
    Conflict,
    KeyExists,
    KeyValue,
    NotFound,
    Store,
)

Object = dict[str, Any]
Mutation = Callable[[Object], Object | Awaitable[Object]]
# Sets managedFields on the object about to be written (new, live or None); see fieldmanager.
FieldTracker = Callable[[Object, Object | None], None]
# Read-modify-write loops retry on conflicts with the value the store returned; a burst of
# N writers to one object needs up to N rounds.
_MAX_CONFLICT_RETRIES = 256


class StaleWrite(errors.StatusError):
    """409 Conflict that carries what the store holds now, for an immediate retry."""

    def __init__(self, info: ResourceInfo, name: str, current: KeyValue | None) -> None:
        conflict = errors.conflict(info.plural, name, info.group)
        super().__init__(conflict.code, conflict.reason, conflict.message, conflict.details)
        self.current = current

    def current_object(self) -> Object | None:
        if self.current is None:
            return None
        return decode_object(self.current.value, self.current.mod_revision)


class Admission(Protocol):
    """Stateful checks and side effects around writes (may raise StatusError)."""

    async def admit(self, info: ResourceInfo, op: str, new: Object | None,
                    old: Object | None, *, dry_run: bool) -> None: ...

    async def rollback(self, info: ResourceInfo, op: str, new: Object | None,
                       old: Object | None) -> None: ...


@dataclass(frozen=True, slots=True)
class ListOptions:
    label: LabelSelector | None = None
    field: FieldSelector | None = None
    limit: int = 0
    continue_token: str = ""
    resource_version: str = ""
    resource_version_match: str = ""


@dataclass(frozen=True, slots=True)
class ListPage:
    items: list[Object]
    revision: int
    continue_token: str
    remaining: int | None


@dataclass(frozen=True, slots=True)
class DeleteOptions:
    grace_period_seconds: int | None = None
    propagation_policy: str = ""
    precondition_uid: str = ""
    precondition_resource_version: str = ""
    dry_run: bool = False


def copy_object(obj: Object) -> Object:
    copied: Object = orjson.loads(orjson.dumps(obj))
    return copied


def encode_for_store(obj: Object) -> bytes:
    meta = obj["metadata"]
    revision = meta.pop("resourceVersion", None)
    try:
        return orjson.dumps(obj)
    finally:
        if revision is not None:
            meta["resourceVersion"] = revision


def matches(obj: Object, options: ListOptions) -> bool:
    if options.label is not None and not options.label.matches(
            obj["metadata"].get("labels")):
        return False
    if options.field is not None:
        values = {f: field_value(obj, f) for f in options.field.fields}
        return options.field.matches(values)
    return True


def encode_continue(revision: int, key: str) -> str:
    raw = orjson.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": key})
    return base64.urlsafe_b64encode(raw).decode()


def decode_continue(token: str) -> tuple[int, str]:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token.encode()))
        return int(data["rv"]), str(data["start"])
    except (ValueError, KeyError, TypeError) as exc:
        raise errors.bad_request(f"invalid continue token: {exc}") from exc


class GenericRegistry:
    def __init__(self, *, store: Store, cache: WatchCache, resources: Registry,
                 clock: Callable[[], float] = time.time) -> None:
        self.resources = resources
        self._store = store
        self._cache = cache
        self._clock = clock
        self.admission: list[Admission] = []

    # ---- reads -------------------------------------------------------------------------

    def cached(self, info: ResourceInfo, namespace: str, name: str) -> Object | None:
        """The cached object without waiting for the cache to catch up."""
        obj = self._cache.cache_for(info.storage_prefix).objects.get(info.key(namespace, name))
        return obj if obj is None or info.crd is None else served_object(info, obj)

    async def lookup(self, info: ResourceInfo, namespace: str, name: str) -> Object | None:
        """The cached object; on a miss, once more after catching up with the store."""
        obj = self.cached(info, namespace, name)
        if obj is None:
            await self._cache.sync()
            obj = self.cached(info, namespace, name)
        return obj

    async def get(self, info: ResourceInfo, namespace: str, name: str) -> Object:
        await self._cache.sync()
        obj = self.cached(info, namespace, name)
        if obj is None:
            raise errors.not_found(info.plural, name, info.group)
        return obj

    async def list_page(self, info: ResourceInfo, namespace: str, options: ListOptions) -> ListPage:
        if options.continue_token:
            revision, start = decode_continue(options.continue_token)
            if await self._cache_holds(info, namespace, revision):
                return self._list_from_cache(info, namespace, options, revision, start)
            return await self._list_from_store(info, namespace, options, revision, start)
        rv, match = options.resource_version, options.resource_version_match
        if match == "Exact":
            return await self._list_from_store(info, namespace, options, int(rv), "")
        if rv == "":
            await self._cache.sync()
        elif rv != "0":
            await self._cache.wait_for(int(rv))
        return self._list_from_cache(info, namespace, options, self._cache.revision, "")

    async def _cache_holds(self, info: ResourceInfo, namespace: str, revision: int) -> bool:
        """Whether the cache still shows the namespace as it was at ``revision`` (a continued
        list): it has caught up, the revision is not compacted, and nothing changed since."""
        if revision > self._cache.revision or revision < await self._store.compact_revision():
            return False
        cache = self._cache.cache_for(info.storage_prefix)
        return unchanged_since(cache.history, cache.oldest_revision, namespace, revision)

    def _list_from_cache(self, info: ResourceInfo, namespace: str, options: ListOptions,
                         revision: int, start: str) -> ListPage:
        cache = self._cache.cache_for(info.storage_prefix)
        items: list[Object] = []
        last_key = ""
        for key in cache.keys_from(info.namespace_prefix(namespace), start):
            obj = cache.objects[key]
            if not matches(obj, options):
                continue
            if options.limit and len(items) == options.limit:
                return ListPage(items, revision, encode_continue(revision, last_key), None)
            items.append(served_object(info, obj))
            last_key = key
        return ListPage(items, revision, "", None)

    async def _list_from_store(self, info: ResourceInfo, namespace: str, options: ListOptions,
                               revision: int, start: str) -> ListPage:
        prefix = info.namespace_prefix(namespace)
        items: list[Object] = []
        try:
            while True:
                page = await self._store.list(prefix, revision=revision, limit=500,
                                              start_after=start)
                for kv in page.items:
                    obj = decode_object(kv.value, kv.mod_revision)
                    if not matches(obj, options):
                        continue
                    if options.limit and len(items) == options.limit:
                        return ListPage(items, page.revision,
                                        encode_continue(page.revision, start), None)
                    items.append(served_object(info, obj))
                    start = kv.key
                if not page.more:
                    return ListPage(items, page.revision, "", None)
                start = page.items[-1].key if page.items else start
                revision = page.revision
        except Compacted as exc:
            raise errors.gone(
                "The provided continue parameter is too old to display a consistent list "
                "result. You can start a new list without the continue parameter.") from exc

    # ---- writes ------------------------------------------------------------------------

    def now(self) -> str:
        return now_rfc3339(self._clock())

    def strategy(self, info: ResourceInfo) -> Strategy:
        if info.crd is not None:  # custom resources: the CRD version's schema decides
            return CustomResourceStrategy(info.crd)
        strategy: Strategy = strategy_for(info.group, info.kind)
        return strategy

    async def create(self, info: ResourceInfo, namespace: str, obj: Object, *,
                     dry_run: bool = False, track_fields: FieldTracker | None = None) -> Object:
        objectmeta.prepare_for_create(info, obj, namespace=namespace, now=self.now())
        strategy = self.strategy(info)
        strategy.default(obj)
        if (info.group, info.kind) == ("batch", "Job"):  # the job registry's PrepareForCreate
            default_job_selector(obj, obj["metadata"]["uid"])
        self._raise_invalid(info, obj, strategy.validate(obj))
        if track_fields is not None:
            track_fields(obj, None)
        meta = obj["metadata"]
        await self._admit(info, "CREATE", obj, None, dry_run=dry_run)
        if dry_run:
            return obj
        try:
            kv = await self._store.create(info.key(meta.get("namespace", ""), meta["name"]),
                                          self._encode_handed_over(obj))
        except KeyExists as exc:
            await self._rollback(info, "CREATE", obj, None)
            raise errors.already_exists(info.plural, meta["name"], info.group) from exc
        except BaseException:
            await self._rollback(info, "CREATE", obj, None)
            raise
        meta["resourceVersion"] = str(kv.mod_revision)
        return obj

    async def update(self, info: ResourceInfo, namespace: str, name: str, new: Object, *,
                     subresource: str = "", dry_run: bool = False,
                     create_if_missing: bool = False,
                     track_fields: FieldTracker | None = None) -> tuple[Object, bool]:
        """PUT: replace with ``new``; its resourceVersion, when set, must be current."""
        objectmeta.check_name_matches(new, name)
        wanted = str((new.get("metadata") or {}).get("resourceVersion") or "")
        old = await self._current(info, namespace, name)
        if old is None:
            if create_if_missing and not subresource:
                return await self.create(info, namespace, new, dry_run=dry_run,
                                         track_fields=track_fields), True
            raise errors.not_found(info.plural, name, info.group)
        if wanted and wanted != old["metadata"]["resourceVersion"]:
            raise errors.conflict(info.plural, name, info.group)
        return await self._write_update(info, new, old, subresource, dry_run,
                                        track_fields), False

    async def guaranteed_update(self, info: ResourceInfo, namespace: str, name: str,
                                mutate: Mutation, *, subresource: str = "",
                                dry_run: bool = False,
                                track_fields: FieldTracker | None = None,
                                copy: bool = True) -> Object:
        """Read-mutate-write, retried on conflicts (PATCH and server-side changes).

        ``mutate`` gets a deep copy of the live object to change, or with ``copy=False`` the
        live (cached, shared) object itself, which it must leave as it is: it returns a new
        object that shares what it does not change, as a status write shares the spec.
        """
        old = await self._current(info, namespace, name)
        for _ in range(_MAX_CONFLICT_RETRIES):
            if old is None:
                raise errors.not_found(info.plural, name, info.group)
            result = mutate(copy_object(old) if copy else old)
            new = await result if isinstance(result, Awaitable) else result
            try:
                return await self._write_update(info, new, old, subresource, dry_run,
                                                track_fields)
            except StaleWrite as exc:
                old = exc.current_object()
        raise errors.conflict(info.plural, name, info.group)

    async def _current(self, info: ResourceInfo, namespace: str, name: str) -> Object | None:
        await self._cache.sync()
        return self.cached(info, namespace, name)

    async def _write_update(self, info: ResourceInfo, new: Object, old: Object,
                            subresource: str, dry_run: bool,
                            track_fields: FieldTracker | None = None) -> Object:
        objectmeta.prepare_for_update(info, new, old, subresource=subresource)
        strategy = self.strategy(info)
        if not subresource:
            strategy.prepare_update(new, old)
        strategy.default(new)
        self._raise_invalid(info, new, strategy.validate(new) + (
            strategy.validate_update(new, old) if not subresource else []))
        if track_fields is not None:
            track_fields(new, old)
        await self._admit(info, "UPDATE", new, old, dry_run=dry_run)
        old_rv = old["metadata"]["resourceVersion"]
        new["metadata"]["resourceVersion"] = old_rv
        if dry_run or _unchanged(new, old):
            return new
        if _finalized(new):
            return await self._delete_now(info, new)
        return await self._store_update(info, new, int(old_rv))

    async def _store_update(self, info: ResourceInfo, new: Object, expected: int) -> Object:
        meta = new["metadata"]
        key = info.key(meta.get("namespace", ""), meta["name"])
        try:
            kv = await self._store.update(key, self._encode_handed_over(new),
                                          expected_revision=expected)
        except Conflict as exc:
            raise StaleWrite(info, meta["name"], exc.current) from exc
        except NotFound as exc:
            raise errors.not_found(info.plural, meta["name"], info.group) from exc
        meta["resourceVersion"] = str(kv.mod_revision)
        return new

    def _encode_handed_over(self, obj: Object) -> bytes:
        """The stored form of ``obj``, which the watch cache then takes as it is rather
        than decoding the bytes again: from here on ``obj`` is read-only (callers of the
        write methods only encode or copy what they get back)."""
        value = encode_for_store(obj)
        self._cache.adopt(value, obj)
        return value

    async def _delete_now(self, info: ResourceInfo, obj: Object) -> Object:
        meta = obj["metadata"]
        key = info.key(meta.get("namespace", ""), meta["name"])
        try:
            kv = await self._store.delete(key, expected_revision=int(meta["resourceVersion"]))
        except Conflict as exc:
            raise StaleWrite(info, meta["name"], exc.current) from exc
        except NotFound as exc:
            raise errors.not_found(info.plural, meta["name"], info.group) from exc
        meta["resourceVersion"] = str(kv.mod_revision)
        await self._admit(info, "DELETE", None, obj, dry_run=False)
        return obj

    async def delete(self, info: ResourceInfo, namespace: str, name: str,
                     options: DeleteOptions) -> tuple[Object, bool]:
        """DELETE: returns the object and whether it is gone (False: deletion pending)."""
        old = await self._current(info, namespace, name)
        for _ in range(_MAX_CONFLICT_RETRIES):
            if old is None:
                raise errors.not_found(info.plural, name, info.group)
            _check_preconditions(info, old, options)
            try:
                return await self._delete_once(info, copy_object(old), options)
            except StaleWrite as exc:
                if options.precondition_resource_version:
                    raise
                old = exc.current_object()
        raise errors.conflict(info.plural, name, info.group)

    async def _delete_once(self, info: ResourceInfo, obj: Object,
                           options: DeleteOptions) -> tuple[Object, bool]:
        meta = obj["metadata"]
        finalizers = list(meta.get("finalizers") or [])
        policy_finalizer = {"Orphan": "orphan", "Foreground": "foregroundDeletion"}.get(
            options.propagation_policy)
        if policy_finalizer and policy_finalizer not in finalizers:
            finalizers.append(policy_finalizer)
        grace = self._grace_period(info, obj, options)
        if _is_namespace(info) and obj.get("spec", {}).get("finalizers"):
            obj.setdefault("status", {})["phase"] = "Terminating"
            return await self._mark_deleting(info, obj, finalizers, 0, options), False
        if not finalizers and not grace:
            if options.dry_run:
                return obj, True
            return await self._delete_now(info, obj), True
        return await self._mark_deleting(info, obj, finalizers, grace, options), False

    async def _mark_deleting(self, info: ResourceInfo, obj: Object, finalizers: list[str],
                             grace: int, options: DeleteOptions) -> Object:
        meta = obj["metadata"]
        if "deletionTimestamp" in meta and list(meta.get("finalizers") or []) == finalizers:
            return obj
        if "deletionTimestamp" not in meta:
            meta["deletionTimestamp"] = now_rfc3339(self._clock() + grace)
            meta["deletionGracePeriodSeconds"] = grace
        if finalizers:
            meta["finalizers"] = finalizers
        if options.dry_run:
            return obj
        await self._admit(info, "DELETING", obj, None, dry_run=False)
        return await self._store_update(info, obj, int(meta["resourceVersion"]))

    def _grace_period(self, info: ResourceInfo, obj: Object, options: DeleteOptions) -> int:
        """Pods on a node terminate gracefully; everything else goes at once."""
        if (info.group, info.kind) != ("", "Pod") or not obj.get("spec", {}).get("nodeName"):
            return 0
        if obj.get("status", {}).get("phase") in ("Succeeded", "Failed"):
            return 0
        if options.grace_period_seconds is not None:
            return max(options.grace_period_seconds, 0)
        return int(obj["spec"].get("terminationGracePeriodSeconds", 30))

    def objects(self, info: ResourceInfo, namespace: str = "") -> Iterator[Object]:
        cache = self._cache.cache_for(info.storage_prefix)
        for key in list(cache.keys_from(info.namespace_prefix(namespace), "")):
            obj = cache.objects.get(key)
            if obj is not None:
                yield obj

    # ---- helpers -----------------------------------------------------------------------

    def _raise_invalid(self, info: ResourceInfo, obj: Object,
                       causes: list[errors.FieldError]) -> None:
        if causes:
            name = obj.get("metadata", {}).get("name", "")
            raise errors.invalid_object(info.kind, name, causes, info.group)

    async def _admit(self, info: ResourceInfo, op: str, new: Object | None, old: Object | None,
                     *, dry_run: bool) -> None:
        for plugin in self.admission:
            await plugin.admit(info, op, new, old, dry_run=dry_run)

    async def _rollback(self, info: ResourceInfo, op: str, new: Object | None,
                        old: Object | None) -> None:
        for plugin in self.admission:
            await plugin.rollback(info, op, new, old)


def unchanged_since(history: Sequence[CachedEvent], oldest: int, namespace: str,
                    revision: int) -> bool:
    """Whether no event in ``history`` (oldest first, everything after ``oldest``) changed
    an object of ``namespace`` ("": any) after ``revision``."""
    for event in reversed(history):
        if event.revision <= revision:
            return True
        if not namespace or event.obj["metadata"].get("namespace", "") == namespace:
            return False
    return revision >= oldest


def _unchanged(new: Object, old: Object) -> bool:
    return new == old


def _finalized(obj: Object) -> bool:
    """Deletion was pending and nothing holds it any more: remove the object now."""
    meta = obj["metadata"]
    if "deletionTimestamp" not in meta or meta.get("finalizers"):
        return False
    if obj.get("kind") == "Namespace" and obj.get("spec", {}).get("finalizers"):
        return False
    return not int(meta.get("deletionGracePeriodSeconds") or 0)


def _is_namespace(info: ResourceInfo) -> bool:
    return (info.group, info.kind) == ("", "Namespace")


def _check_preconditions(info: ResourceInfo, obj: Object, options: DeleteOptions) -> None:
    meta = obj["metadata"]
    if options.precondition_uid and options.precondition_uid != meta.get("uid"):
        raise errors.conflict(
            info.plural, meta["name"], info.group,
            f"Precondition failed: UID in precondition: {options.precondition_uid}, "
            f"UID in object meta: {meta.get('uid')}")
    wanted = options.precondition_resource_version
    if wanted and wanted != meta.get("resourceVersion"):
        raise errors.conflict(
            info.plural, meta["name"], info.group,
            f"Precondition failed: ResourceVersion in precondition: {wanted}, "
            f"ResourceVersion in object meta: {meta.get('resourceVersion')}")
