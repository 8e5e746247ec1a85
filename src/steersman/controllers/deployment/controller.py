"""The Deployment controller: event handlers that enqueue, and the reconcile entry point.

kubernetes ``pkg/controller/deployment/deployment_controller.go``. Deployment events
enqueue the Deployment; ReplicaSet events enqueue the Deployment controlling the
ReplicaSet (or, for an orphan, every Deployment in its namespace whose selector matches
it, so it can be adopted); a pod deletion enqueues a ``Recreate`` Deployment, which waits
for its old pods to be gone. ``reconcile`` claims the namespace's ReplicaSets and hands
the rest to :func:`~.rollout.sync_deployment`.
"""

from __future__ import annotations

import logging
from typing import Any

from steersman.api.errors import StatusError
from steersman.api.selectors import LabelSelector, SelectorError, selector_from_label_selector_spec
from steersman.client import (
    DEPLOYMENTS,
    NAMESPACE_INDEX,
    OWNER_UID_INDEX,
    PODS,
    REPLICASETS,
    Client,
    Clock,
    Informer,
    by_owner_uid,
)
from steersman.controllers.claims import claim, labels_of
from steersman.controllers.deployment.rollout import sync_deployment
from steersman.controllers.deployment.sync import DeploymentSync, HashCollision
from steersman.controllers.podstate import controller_of, is_terminating, meta, uid_of
from steersman.controllers.runtime import InformerFactory, QueueController

log = logging.getLogger(__name__)
Object = dict[str, Any]
CONFLICT_RETRY_SECONDS = 0.5


def deployment_selector(deployment: Object) -> LabelSelector:
    try:
        return selector_from_label_selector_spec((deployment.get("spec") or {}).get("selector"))
    except SelectorError:
        return LabelSelector.nothing()


class DeploymentController(QueueController):
    """Rolls Deployments out through ReplicaSets."""

    name = "deployment"
    workers = 4

    def __init__(self, client: Client, *, clock: Clock | None = None) -> None:
        super().__init__(client, clock=clock)
        self._deployments: Informer | None = None
        self._replica_sets: Informer | None = None
        self._pods: Informer | None = None

    def setup(self, factory: InformerFactory) -> None:
        self._deployments = factory.informer(DEPLOYMENTS)
        self._replica_sets = factory.informer(REPLICASETS,
                                              indexers={OWNER_UID_INDEX: by_owner_uid})
        self._pods = factory.informer(PODS, indexers={OWNER_UID_INDEX: by_owner_uid})
        self._deployments.add_handlers(on_add=self.enqueue,
                                       on_update=lambda _old, new: self.enqueue(new),
                                       on_delete=self.enqueue)
        self._replica_sets.add_handlers(on_add=self._rs_added, on_update=self._rs_updated,
                                        on_delete=self._rs_deleted)
        self._pods.add_handlers(on_delete=self._pod_deleted)

    # -- event handlers -------------------------------------------------------------------

    def _rs_added(self, rs: Object) -> None:
        if is_terminating(rs):
            self._rs_deleted(rs)
            return
        owner = self._resolve(rs)
        if owner is not None:
            self.enqueue(owner)
        elif controller_of(rs) is None:
            self._enqueue_matching(rs)

    def _rs_updated(self, old: Object, new: Object) -> None:
        old_owner, new_owner = self._resolve(old), self._resolve(new)
        if old_owner is not None and uid_of(old_owner) != uid_of(new_owner or {}):
            self.enqueue(old_owner)
        if new_owner is not None:
            self.enqueue(new_owner)
        elif controller_of(new) is None and (labels_of(old) != labels_of(new)
                                             or controller_of(old) is not None):
            self._enqueue_matching(new)

    def _rs_deleted(self, rs: Object) -> None:
        owner = self._resolve(rs)
        if owner is not None:
            self.enqueue(owner)

    def _pod_deleted(self, pod: Object) -> None:
        ref = controller_of(pod)
        if ref is None or ref.get("kind") != "ReplicaSet" or self._replica_sets is None:
            return
        namespace = meta(pod).get("namespace")
        rs = self._replica_sets.indexer.get(f"{namespace}/{ref.get('name')}")
        owner = self._resolve(rs) if rs is not None else None
        strategy = ((owner or {}).get("spec") or {}).get("strategy") or {}
        if owner is not None and strategy.get("type") == "Recreate":
            self.enqueue(owner)

    def _resolve(self, rs: Object) -> Object | None:
        ref = controller_of(rs)
        if ref is None or ref.get("kind") != "Deployment" or self._deployments is None:
            return None
        key = f"{meta(rs).get('namespace')}/{ref.get('name')}"
        owner = self._deployments.indexer.get(key)
        return owner if owner is not None and uid_of(owner) == ref.get("uid") else None

    def _enqueue_matching(self, rs: Object) -> None:
        if self._deployments is None:
            return
        namespace = str(meta(rs).get("namespace") or "")
        for deployment in self._deployments.indexer.by_index(NAMESPACE_INDEX, namespace):
            if deployment_selector(deployment).matches(labels_of(rs)):
                self.enqueue(deployment)

    # -- reconcile ------------------------------------------------------------------------

    async def reconcile(self, key: str) -> float | None:
        deployment = self._deployments.indexer.get(key) if self._deployments else None
        if deployment is None:
            return None
        try:
            return await self._sync(deployment)
        except HashCollision as err:
            log.info("deployment %s: %s; retrying with a new hash", key, err)
            return CONFLICT_RETRY_SECONDS
        except StatusError as err:
            if err.code != 409:
                raise
            log.debug("deployment %s: %s; looking again", key, err.message)
            return CONFLICT_RETRY_SECONDS

    async def _sync(self, deployment: Object) -> float | None:
        selector = deployment_selector(deployment)
        if selector.empty:
            await self._observe_only(deployment)
            return None
        replica_sets = await claim(self.client, owner_resource=DEPLOYMENTS,
                                   resource=REPLICASETS, owner=deployment,
                                   candidates=self._namespace_replica_sets(deployment),
                                   selector=selector)
        pods_by_rs = {uid_of(rs): self._pods_of(rs) for rs in replica_sets}
        sync = DeploymentSync(self.client, self.clock, deployment, replica_sets)
        return await sync_deployment(sync, pods_by_rs)

    async def _observe_only(self, deployment: Object) -> None:
        """An empty selector would select every pod: refuse to act, but observe it."""
        generation = int(meta(deployment).get("generation") or 0)
        status = dict(deployment.get("status") or {})
        if int(status.get("observedGeneration") or 0) < generation:
            status["observedGeneration"] = generation
            await self.client.update_status(DEPLOYMENTS, {**deployment, "status": status})

    def _namespace_replica_sets(self, deployment: Object) -> list[Object]:
        assert self._replica_sets is not None
        namespace = str(meta(deployment).get("namespace") or "")
        return self._replica_sets.indexer.by_index(NAMESPACE_INDEX, namespace)

    def _pods_of(self, rs: Object) -> list[Object]:
        assert self._pods is not None
        return self._pods.indexer.by_index(OWNER_UID_INDEX, uid_of(rs))
