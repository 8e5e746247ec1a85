"""The ReplicaSet controller, and the ReplicationController controller built on it.

kubernetes ``pkg/controller/replicaset/replica_set.go``, by key (STYLE.md rule 3):

* pod and owner events only enqueue the owner's key;
* ``reconcile`` reads the owner and the namespace's active pods from the caches, claims
  them (adopt matching orphans, release controlled pods that stopped matching), and —
  once the cache shows every pod it created or deleted before
  (:class:`~steersman.controllers.expectations.Expectations`: a burst of events read
  against a cache that lags our own writes never creates twice) — creates the missing
  replicas in slow-start batches or deletes the surplus in :mod:`.ranking` order;
* then it writes the status (:mod:`.status`), PUT with the cached resourceVersion; a 409
  means the cache was behind, and the key is simply looked at again.

A ReplicationController is the same machine over ``core/v1`` with a plain-map selector:
:class:`ReplicationManager` differs only in its :class:`ReplicaKind`.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from steersman.api.errors import StatusError
from steersman.api.selectors import LabelSelector, SelectorError, selector_from_label_selector_spec
from steersman.client import (
    NAMESPACE_INDEX,
    OWNER_UID_INDEX,
    PODS,
    REPLICASETS,
    REPLICATIONCONTROLLERS,
    Client,
    Clock,
    Informer,
    Resource,
    by_owner_uid,
    key_of,
)
from steersman.controllers.claims import claim, labels_of
from steersman.controllers.expectations import Expectations
from steersman.controllers.podstate import (
    controller_of,
    controller_ref,
    is_active,
    is_terminating,
    meta,
    seconds_until_available,
    uid_of,
)
from steersman.controllers.replicaset.ranking import pods_to_delete
from steersman.controllers.replicaset.slowstart import slow_start
from steersman.controllers.replicaset.status import (
    calculate_status,
    min_ready_seconds,
    spec_replicas,
)
from steersman.controllers.runtime import InformerFactory, QueueController

log = logging.getLogger(__name__)
Object = dict[str, Any]

BURST_REPLICAS = 500
CONFLICT_RETRY_SECONDS = 0.5


class ManageReplicasError(Exception):
    """Creating or deleting replicas failed; the key is retried with back-off."""


@dataclass(frozen=True)
class ReplicaKind:
    """What differs between ReplicaSets and ReplicationControllers."""

    resource: Resource
    selector_of: Callable[[Object], LabelSelector]


def replica_set_selector(owner: Object) -> LabelSelector:
    try:
        return selector_from_label_selector_spec((owner.get("spec") or {}).get("selector"))
    except SelectorError:
        return LabelSelector.nothing()


def replication_controller_selector(owner: Object) -> LabelSelector:
    match_labels = (owner.get("spec") or {}).get("selector")
    if not isinstance(match_labels, dict) or not match_labels:
        return LabelSelector.nothing()
    return replica_set_selector({"spec": {"selector": {"matchLabels": match_labels}}})


REPLICA_SET = ReplicaKind(REPLICASETS, replica_set_selector)
REPLICATION_CONTROLLER = ReplicaKind(REPLICATIONCONTROLLERS, replication_controller_selector)


def pod_from_template(owner: Object) -> Object:
    """A pod to create for ``owner``: its template, ``<name>-`` generateName, owner ref."""
    template = (owner.get("spec") or {}).get("template") or {}
    template_meta = template.get("metadata") or {}
    pod_meta: Object = {"generateName": f"{meta(owner).get('name')}-",
                        "ownerReferences": [controller_ref(owner)]}
    for field in ("labels", "annotations", "finalizers"):
        if template_meta.get(field):
            pod_meta[field] = copy.deepcopy(template_meta[field])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta,
            "spec": copy.deepcopy(template.get("spec") or {})}


class ReplicaSetController(QueueController):
    """Keeps ``spec.replicas`` active pods for every ReplicaSet."""

    name = "replicaset"
    kind = REPLICA_SET
    workers = 4

    def __init__(self, client: Client, *, clock: Clock | None = None) -> None:
        super().__init__(client, clock=clock)
        self.expectations = Expectations(self.clock)
        self._owners: Informer | None = None
        self._pods: Informer | None = None

    def start_term(self) -> None:
        super().start_term()
        self.expectations = Expectations(self.clock)

    def setup(self, factory: InformerFactory) -> None:
        self._owners = factory.informer(self.kind.resource)
        self._pods = factory.informer(PODS, indexers={OWNER_UID_INDEX: by_owner_uid})
        self._owners.add_handlers(on_add=self.enqueue, on_update=self._owner_updated,
                                  on_delete=self._owner_deleted)
        self._pods.add_handlers(on_add=self._pod_added, on_update=self._pod_updated,
                                on_delete=self._pod_deleted)

    # -- event handlers: they only enqueue keys and count observed writes -----------------

    def _owner_updated(self, old: Object, new: Object) -> None:
        self.enqueue(new)

    def _owner_deleted(self, owner: Object) -> None:
        self.expectations.forget(key_of(owner))
        self.enqueue(owner)

    def _pod_added(self, pod: Object) -> None:
        owner = self._resolve(pod)
        if owner is not None:
            self.enqueue(owner)
        elif controller_of(pod) is None and not is_terminating(pod):
            self._enqueue_matching(pod)

    def _pod_updated(self, old: Object, new: Object) -> None:
        old_owner, new_owner = self._resolve(old), self._resolve(new)
        if old_owner is not None and uid_of(old_owner) != uid_of(new_owner or {}):
            self.enqueue(old_owner)
        if new_owner is not None:
            self.enqueue(new_owner)
        elif controller_of(new) is None and (labels_of(old) != labels_of(new)
                                             or controller_of(old) is not None):
            self._enqueue_matching(new)

    def _pod_deleted(self, pod: Object) -> None:
        owner = self._resolve(pod)
        if owner is not None:
            self.enqueue(owner)

    def _resolve(self, pod: Object) -> Object | None:
        """The cached owner named by the pod's controller reference, if it is one of ours."""
        ref = controller_of(pod)
        if ref is None or ref.get("kind") != self.kind.resource.kind or self._owners is None:
            return None
        owner = self._owners.indexer.get(f"{meta(pod).get('namespace')}/{ref.get('name')}")
        return owner if owner is not None and uid_of(owner) == ref.get("uid") else None

    def _enqueue_matching(self, pod: Object) -> None:
        if self._owners is None:
            return
        namespace = str(meta(pod).get("namespace") or "")
        for owner in self._owners.indexer.by_index(NAMESPACE_INDEX, namespace):
            if self.kind.selector_of(owner).matches(labels_of(pod)):
                self.enqueue(owner)

    # -- reconcile -----------------------------------------------------------------------

    async def reconcile(self, key: str) -> float | None:
        owner = self._owners.indexer.get(key) if self._owners is not None else None
        if owner is None:
            self.expectations.forget(key)
            return None
        try:
            return await self._sync(key, owner)
        except StatusError as err:
            if err.code != 409:
                raise
            log.debug("%s %s: %s; looking again", self.kind.resource.kind, key, err.message)
            return CONFLICT_RETRY_SECONDS

    async def _sync(self, key: str, owner: Object) -> float | None:
        assert self._pods is not None
        needs_sync = self.expectations.satisfied(key, self._pods.indexer.get)
        pods = await self._claimed_pods(owner)
        failure = None
        if needs_sync and not is_terminating(owner):
            failure = await self._manage(key, owner, pods)
        now = self.clock.now()
        status = calculate_status(owner, pods, failure=failure, now=now)
        if status != owner.get("status"):
            await self.client.update_status(self.kind.resource, {**owner, "status": status})
        if failure is not None:
            raise ManageReplicasError(failure)
        return seconds_until_available(pods, min_ready_seconds(owner), now)

    async def _claimed_pods(self, owner: Object) -> list[Object]:
        assert self._pods is not None
        namespace = str(meta(owner).get("namespace") or "")
        candidates = [p for p in self._pods.indexer.by_index(NAMESPACE_INDEX, namespace)
                      if is_active(p)]
        return await claim(self.client, owner_resource=self.kind.resource, resource=PODS,
                           owner=owner, candidates=candidates,
                           selector=self.kind.selector_of(owner))

    async def _manage(self, key: str, owner: Object, pods: list[Object]) -> str | None:
        """Create or delete pods towards ``spec.replicas``; the first error's message."""
        diff = len(pods) - spec_replicas(owner)
        if diff < 0:
            return await self._create(key, owner, min(-diff, BURST_REPLICAS))
        if diff > 0:
            return await self._delete(key, owner, pods, min(diff, BURST_REPLICAS))
        return None

    async def _create(self, key: str, owner: Object, count: int) -> str | None:
        namespace = str(meta(owner).get("namespace"))

        async def create_one() -> None:
            pod = await self.client.create(PODS, pod_from_template(owner), namespace=namespace)
            self.expectations.expect_created(key, key_of(pod))
            await self._event(owner, "SuccessfulCreate", f"Created pod: {meta(pod).get('name')}")

        _, error = await slow_start(count, create_one)
        if error is None:
            return None
        await self._event(owner, "FailedCreate", f"Error creating: {error.message}", "Warning")
        return error.message

    async def _delete(self, key: str, owner: Object, pods: list[Object],
                      count: int) -> str | None:
        victims = pods_to_delete(pods, count, now=self.clock.now())
        results = await asyncio.gather(*(self._delete_pod(key, owner, p) for p in victims))
        errors = [message for message in results if message is not None]
        return errors[0] if errors else None

    async def _delete_pod(self, key: str, owner: Object, pod: Object) -> str | None:
        name = str(meta(pod).get("name"))
        try:
            await self.client.delete(PODS, name, namespace=str(meta(pod).get("namespace")),
                                     preconditions={"uid": uid_of(pod)})
        except StatusError as err:
            if err.code == 404:
                return None
            await self._event(owner, "FailedDelete", f"Error deleting: {err.message}",
                              "Warning")
            return err.message
        self.expectations.expect_deleted(key, key_of(pod), uid_of(pod))
        await self._event(owner, "SuccessfulDelete", f"Deleted pod: {name}")
        return None

    async def _event(self, owner: Object, reason: str, message: str,
                     type: str = "Normal") -> None:
        try:
            await self.client.create_event(owner, reason=reason, message=message, type=type,
                                           component=f"{self.name}-controller")
        except StatusError as err:
            log.debug("event %s for %s not recorded: %s", reason, key_of(owner), err.message)


class ReplicationManager(ReplicaSetController):
    """Keeps ``spec.replicas`` active pods for every ReplicationController."""

    name = "replicationcontroller"
    kind = REPLICATION_CONTROLLER
