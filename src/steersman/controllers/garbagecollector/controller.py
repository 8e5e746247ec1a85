"""The garbage collector: deletes dependents whose owners are gone, and carries out
foreground and orphan deletions of owners.

Keys are object uids, plus :data:`RESYNC_KEY`, which (re)reads discovery and monitors every
listable, watchable and deletable resource but events — at start, every
:data:`RESYNC_PERIOD` seconds, and whenever a CustomResourceDefinition changes. Event
handlers only enqueue: an object whose ownership or deletion state changed, the
dependents of a deleted object, and the owners of a changed or deleted dependent (an owner
deleted in the foreground waits for them).

Reconciling a uid re-reads the object from the caches (:mod:`.graph`) and acts on it as
:mod:`.decisions` says. An owner missing from the caches is looked up with a live GET
before a dependent is judged orphaned, because a cache may lag (an owner created a moment
ago) and an owner found with another uid counts as absent. Deletes carry a uid
precondition and patches test the resourceVersion; a write refused because the cache was
stale is retried after :data:`STALE_RETRY` seconds.
"""

from __future__ import annotations

import logging
from typing import Any

from steersman.api.errors import StatusError
from steersman.client import (
    CRDS,
    OWNER_UID_INDEX,
    Client,
    Clock,
    Discovery,
    PatchType,
    Resource,
    by_owner_uid,
    discover,
)
from steersman.controllers.garbagecollector.decisions import (
    FOREGROUND_FINALIZER,
    ORPHAN_FINALIZER,
    Delete,
    JSONPatch,
    OwnerState,
    RemoveOwnerReferences,
    finalizer_removal_patch,
    gc_view,
    is_deleting,
    metadata,
    owner_references,
    owner_references_patch,
    owner_state,
    owner_uids,
    pending_finalizer,
    plan_dependent,
    plan_foreground,
    uid_of,
)
from steersman.controllers.garbagecollector.graph import UID_INDEX, Graph, Node, by_uid
from steersman.controllers.runtime import InformerFactory, QueueController

log = logging.getLogger(__name__)

Object = dict[str, Any]
RESYNC_KEY = "resync-monitors"
RESYNC_PERIOD = 30.0
STALE_RETRY = 0.5
UNMONITORED = frozenset({("", "events"), ("events.k8s.io", "events")})


class GarbageCollector(QueueController):
    name = "garbagecollector"
    workers = 8

    def __init__(self, client: Client, *, clock: Clock | None = None) -> None:
        super().__init__(client, clock=clock)
        self._factory: InformerFactory | None = None
        self._graph = Graph()
        self._discovery = Discovery()

    def setup(self, factory: InformerFactory) -> None:
        self._factory = factory
        self._graph = Graph()
        factory.informer(CRDS).add_handlers(
            on_add=self._resync, on_update=lambda _old, new: self._resync(new),
            on_delete=self._resync)
        self.queue.add(RESYNC_KEY)

    async def reconcile(self, key: str) -> float | None:
        if key == RESYNC_KEY:
            await self._sync_monitors()
            return RESYNC_PERIOD
        node = self._graph.find(key)
        if node is None:
            return None
        finalizer = pending_finalizer(node.obj)
        if finalizer == ORPHAN_FINALIZER:
            return await self._orphan_dependents(node)
        if finalizer == FOREGROUND_FINALIZER:
            return await self._delete_dependents_first(node)
        if is_deleting(node.obj) or not owner_references(node.obj):
            return None
        return await self._collect(node)

    # ---- event handlers: enqueue only ------------------------------------------------

    def _resync(self, _crd: Object) -> None:
        self.queue.add(RESYNC_KEY)

    def _on_add(self, obj: Object) -> None:
        if owner_references(obj) or is_deleting(obj):
            self.queue.add(uid_of(obj))

    def _on_update(self, old: Object, new: Object) -> None:
        if gc_view(old) == gc_view(new):
            return
        self._on_add(new)
        for owner in owner_uids(old) | owner_uids(new):
            self.queue.add(owner)

    def _on_delete(self, obj: Object) -> None:
        for dependent in self._graph.dependents(uid_of(obj)):
            self.queue.add(dependent.uid)
        for owner in owner_uids(obj):
            self.queue.add(owner)

    # ---- monitors --------------------------------------------------------------------

    async def _sync_monitors(self) -> None:
        discovery = await discover(self.client)
        self._discovery = discovery
        wanted = {entry.resource for entry in discovery.with_verbs("list", "watch", "delete")
                  if (entry.resource.group, entry.resource.plural) not in UNMONITORED}
        monitored = self._graph.monitored()
        for resource in wanted - monitored:
            self._monitor(resource)
        unreadable = discovery.failed_groups()
        for resource in monitored - wanted:
            if resource.group not in unreadable:
                await self._unmonitor(resource)
        self._informers().start()

    def _monitor(self, resource: Resource) -> None:
        informer = self._informers().informer(
            resource, indexers={UID_INDEX: by_uid, OWNER_UID_INDEX: by_owner_uid})
        informer.add_handlers(on_add=self._on_add, on_update=self._on_update,
                              on_delete=self._on_delete)
        self._graph.add(resource, informer)
        if informer.has_synced:  # shared and already listed: its adds went by unseen
            for obj in informer.indexer.list():
                self._on_add(obj)
        log.debug("garbage collector monitors %s", resource.plural)

    async def _unmonitor(self, resource: Resource) -> None:
        self._graph.remove(resource)
        await self._informers().discard(resource)
        log.info("garbage collector stopped monitoring %s (no longer served)",
                 resource.plural)

    def _informers(self) -> InformerFactory:
        if self._factory is None:
            raise RuntimeError("the garbage collector was not set up")
        return self._factory

    # ---- dependents whose owners may be gone -----------------------------------------

    async def _collect(self, node: Node) -> float | None:
        states = {str(ref["uid"]): await self._owner_state(node, ref)
                  for ref in owner_references(node.obj)}
        action = plan_dependent(states)
        if isinstance(action, RemoveOwnerReferences):
            log.info("removing dangling owner references %s from %s %s",
                     sorted(action.uids), node.resource.plural, _describe(node))
            return await self._patch(node, owner_references_patch(node.obj, action.uids))
        if isinstance(action, Delete):
            return await self._delete(node, action.propagation_policy)
        return None

    async def _owner_state(self, dependent: Node, ref: Object) -> OwnerState:
        uid = str(ref["uid"])
        cached = self._graph.find(uid)
        if cached is not None:
            return owner_state(cached.obj, uid=uid, namespace=_owner_namespace(
                dependent, cached.resource))
        resource = self._discovery.for_kind(str(ref.get("apiVersion") or ""),
                                            str(ref.get("kind") or ""))
        if resource is None:
            log.warning("%s %s: owner kind %s/%s is not served; keeping the reference",
                        dependent.resource.plural, _describe(dependent),
                        ref.get("apiVersion"), ref.get("kind"))
            return OwnerState.PRESENT
        return await self._live_owner_state(dependent, resource, ref)

    async def _live_owner_state(self, dependent: Node, resource: Resource,
                                ref: Object) -> OwnerState:
        namespace = _owner_namespace(dependent, resource)
        if resource.namespaced and not namespace:
            return OwnerState.ABSENT  # a cluster-scoped object cannot have a namespaced owner
        try:
            live = await self.client.get(resource, str(ref.get("name") or ""),
                                         namespace=namespace)
        except StatusError as err:
            if err.code != 404:
                raise
            return OwnerState.ABSENT
        return owner_state(live, uid=str(ref["uid"]), namespace=namespace)

    async def _delete(self, node: Node, policy: str) -> float | None:
        log.info("deleting %s %s (%s): its owners are gone", node.resource.plural,
                 _describe(node), policy)
        try:
            await self.client.delete(node.resource, node.name, namespace=node.namespace,
                                     propagation_policy=policy,
                                     preconditions={"uid": node.uid})
        except StatusError as err:
            if err.code == 404:
                return None
            if err.code == 409:  # another object now has the name: this one is gone
                return STALE_RETRY
            raise
        return None

    # ---- owners being deleted --------------------------------------------------------

    async def _delete_dependents_first(self, owner: Node) -> float | None:
        plan = plan_foreground(owner.uid, (d.obj for d in self._graph.dependents(owner.uid)))
        if plan.done:
            return await self._patch(owner, finalizer_removal_patch(owner.obj,
                                                                    FOREGROUND_FINALIZER))
        for uid in plan.to_delete:
            self.queue.add(uid)
        return None

    async def _orphan_dependents(self, owner: Node) -> float | None:
        for dependent in self._graph.dependents(owner.uid):
            retry = await self._patch(dependent, owner_references_patch(dependent.obj,
                                                                        {owner.uid}))
            if retry is not None:
                return retry
        return await self._patch(owner, finalizer_removal_patch(owner.obj, ORPHAN_FINALIZER))

    # ---- writes ----------------------------------------------------------------------

    async def _patch(self, node: Node, patch: JSONPatch) -> float | None:
        """Apply a resourceVersion-guarded patch; a delay to look again if it was stale."""
        try:
            await self.client.patch(node.resource, node.name, patch, namespace=node.namespace,
                                    patch_type=PatchType.JSON)
        except StatusError as err:
            if err.code == 404:
                return None
            if err.code == 409 or (err.code == 422 and await self._stale(node)):
                return STALE_RETRY
            raise
        return None

    async def _stale(self, node: Node) -> bool:
        """Whether the API holds a newer version of ``node`` than the cache handed us."""
        try:
            live = await self.client.get(node.resource, node.name, namespace=node.namespace)
        except StatusError as err:
            if err.code == 404:
                return True
            raise
        return metadata(live).get("resourceVersion") != metadata(node.obj).get(
            "resourceVersion")


def _owner_namespace(dependent: Node, owner_resource: Resource) -> str:
    return dependent.namespace if owner_resource.namespaced else ""


def _describe(node: Node) -> str:
    return f"{node.namespace}/{node.name}" if node.namespace else node.name
