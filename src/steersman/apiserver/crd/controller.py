"""Serving what stored CustomResourceDefinitions define: naming, establishing, finalizing.

One :class:`CustomResourceDefinitions` per API server, fed by the watch cache. It is
level-triggered: the cache listener only enqueues a CRD's name; one worker reconciles each
name from the current cached state, so a name is never handled twice at once. Reconciling
a live CRD checks its names against the other CRDs of its group (kube's naming
controller), serves one :class:`ResourceInfo` per served version in the API
:class:`Registry` and writes ``status`` (``acceptedNames``, ``NamesAccepted`` and
``Established`` conditions) through the ``/status`` path of the generic registry.
Reconciling a CRD marked for deletion deletes all its custom resources, then removes the
``customresourcecleanup.apiextensions.k8s.io`` finalizer (kube's finalizer controller); the
CRD is then gone and its resources are withdrawn from the registry.

:meth:`start` serves the CRDs already in the cache synchronously, oldest first, so a
restarted server serves them before it accepts requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from steersman.api import errors
from steersman.api.custom_resources import crd_spec, resource_infos
from steersman.api.resources import Registry, ResourceInfo
from steersman.apiserver.crd.status import (
    CLEANUP_FINALIZER,
    Conflict,
    names_status,
    set_condition,
)
from steersman.apiserver.generic import DeleteOptions, GenericRegistry
from steersman.apiserver.watchcache import CachedEvent, WatchCache

log = logging.getLogger(__name__)
Object = dict[str, Any]
GROUP = "apiextensions.k8s.io"
RETRY_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class _Claim:
    """The names one served CRD holds within its group."""

    group: str
    resources: frozenset[str]
    kinds: frozenset[str]


class CustomResourceDefinitions:
    def __init__(self, *, registry: GenericRegistry, resources: Registry,
                 cache: WatchCache, retry_seconds: float = RETRY_SECONDS) -> None:
        info = resources.get(GROUP, "v1", "customresourcedefinitions")
        assert info is not None, "customresourcedefinitions must be a built-in resource"
        self.info = info
        self._registry = registry
        self._resources = resources
        self._cache = cache
        self._retry_seconds = retry_seconds
        self._served: dict[str, list[ResourceInfo]] = {}
        self._claims: dict[str, _Claim] = {}
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    # ---- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Serve the cached CRDs now, then follow changes; call inside the event loop."""
        crds = sorted(self._registry.objects(self.info),
                      key=lambda c: (c["metadata"].get("creationTimestamp", ""),
                                     c["metadata"]["name"]))
        for crd in crds:
            if self._conflict(crd) is None:
                self._serve(crd)
        self._cache.add_listener(self._on_event)
        for crd in crds:
            self.enqueue(crd["metadata"]["name"])
        self._task = asyncio.create_task(self._work(), name="crd-controller")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def enqueue(self, name: str) -> None:
        if name not in self._queued:
            self._queued.add(name)
            self._queue.put_nowait(name)

    def _on_event(self, prefix: str, event: CachedEvent) -> None:
        if prefix == self.info.storage_prefix:
            self.enqueue(event.obj["metadata"]["name"])

    async def _work(self) -> None:
        while True:
            name = await self._queue.get()
            self._queued.discard(name)
            try:
                await self.reconcile(name)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("reconciling CustomResourceDefinition %s failed; retrying", name)
                self._retry_later(name)

    def _retry_later(self, name: str) -> None:
        asyncio.get_running_loop().call_later(self._retry_seconds, self.enqueue, name)

    # ---- reconcile ---------------------------------------------------------------------

    async def reconcile(self, name: str) -> None:
        await self._cache.sync()
        crd = self._registry.cached(self.info, "", name)
        if crd is None:
            self._withdraw(name)
            self._recheck_unserved()
        elif crd["metadata"].get("deletionTimestamp"):
            await self._finalize(crd)
        else:
            conflict = self._conflict(crd)
            if conflict is None:
                self._serve(crd)
            await self._write_status(name, conflict)

    def _recheck_unserved(self) -> None:
        """Names were freed: CRDs that were refused may be served now."""
        for crd in self._registry.objects(self.info):
            if crd["metadata"]["name"] not in self._served:
                self.enqueue(crd["metadata"]["name"])

    def _conflict(self, crd: Object) -> Conflict | None:
        """Names another served CRD of the group already holds; as kube's naming
        controller, the last name checked decides the reason, and ``Conflict.names`` the
        names refused."""
        spec = crd_spec(crd)
        names = spec.get("names") or {}
        taken_resources, taken_kinds = self._taken(str(spec.get("group", "")),
                                                   crd["metadata"]["name"])
        checks = [("plural", "PluralConflict", names.get("plural"), taken_resources),
                  ("singular", "SingularConflict", names.get("singular"), taken_resources),
                  *[("shortNames", "ShortNamesConflict", short, taken_resources)
                    for short in names.get("shortNames") or ()],
                  ("kind", "KindConflict", names.get("kind"), taken_kinds),
                  ("listKind", "ListKindConflict", names.get("listKind"), taken_kinds)]
        found: Conflict | None = None
        for key, reason, value, taken in checks:
            if value and value in taken:
                refused = (found.names if found else frozenset()) | {key}
                found = Conflict(reason, f'"{value}" is already in use', refused)
        return found

    def _taken(self, group: str, own: str) -> tuple[set[str], set[str]]:
        resources: set[str] = set()
        kinds: set[str] = set()
        for name, claim in self._claims.items():
            if name != own and claim.group == group:
                resources |= claim.resources
                kinds |= claim.kinds
        return resources, kinds

    def _serve(self, crd: Object) -> None:
        name = crd["metadata"]["name"]
        infos = resource_infos(crd)
        if _same(self._served.get(name, []), infos):
            return
        self._withdraw(name)
        for info in infos:
            self._resources.add(info)
        self._served[name] = infos
        self._claims[name] = _claim_of(crd)

    def _withdraw(self, name: str) -> None:
        for info in self._served.pop(name, []):
            self._resources.remove(info.group, info.version, info.plural)
        self._claims.pop(name, None)

    async def _write_status(self, name: str, conflict: Conflict | None) -> None:
        now = self._registry.now()

        def update(crd: Object) -> Object:
            crd["status"] = names_status(crd, conflict, now)
            return crd

        current = self._registry.cached(self.info, "", name)
        if current is not None and names_status(current, conflict, now) == current.get("status"):
            return
        with contextlib.suppress(errors.StatusError):
            await self._registry.guaranteed_update(self.info, "", name, update,
                                                   subresource="status")

    # ---- deletion ----------------------------------------------------------------------

    async def _finalize(self, crd: Object) -> None:
        name = crd["metadata"]["name"]
        if CLEANUP_FINALIZER not in (crd["metadata"].get("finalizers") or ()):
            return
        storage = resource_infos(crd, served_only=False)
        left = await self._delete_instances(storage[0]) if storage else 0
        if left:
            await self._set_terminating(name, "InstanceDeletionInProgress",
                                        "CustomResource deletion is in progress")
            self._retry_later(name)
            return
        await self._set_terminating(name, "InstanceDeletionCompleted", "removed all instances")
        await self._registry.guaranteed_update(self.info, "", name, _drop_finalizer)

    async def _delete_instances(self, info: ResourceInfo) -> int:
        """Delete every custom resource of ``info``; how many are still there afterwards."""
        for obj in list(self._registry.objects(info)):
            meta = obj["metadata"]
            if meta.get("deletionTimestamp"):
                continue
            with contextlib.suppress(errors.StatusError):
                await self._registry.delete(info, meta.get("namespace", ""), meta["name"],
                                            DeleteOptions())
        await self._cache.sync()
        return sum(1 for _ in self._registry.objects(info))

    async def _set_terminating(self, name: str, reason: str, message: str) -> None:
        status = "False" if reason == "InstanceDeletionCompleted" else "True"
        now = self._registry.now()

        def update(crd: Object) -> Object:
            set_condition(crd, "Terminating", status, reason, message, now)
            return crd

        await self._registry.guaranteed_update(self.info, "", name, update,
                                               subresource="status")


def _same(old: Iterable[ResourceInfo], new: Iterable[ResourceInfo]) -> bool:
    return [(i, i.crd) for i in old] == [(i, i.crd) for i in new]


def _claim_of(crd: Object) -> _Claim:
    spec = crd_spec(crd)
    names = spec.get("names") or {}
    resources = {names.get("plural"), names.get("singular"), *(names.get("shortNames") or ())}
    kinds = {names.get("kind"), names.get("listKind")}
    return _Claim(str(spec.get("group", "")), frozenset(str(r) for r in resources if r),
                  frozenset(str(k) for k in kinds if k))


def _drop_finalizer(crd: Object) -> Object:
    meta = crd["metadata"]
    meta["finalizers"] = [f for f in meta.get("finalizers") or () if f != CLEANUP_FINALIZER]
    if not meta["finalizers"]:
        del meta["finalizers"]
    return crd
