"""The StatefulSet controller: ordinal pods with stable names and storage, rolled in order.

Reconcile by StatefulSet key: read the set, its pods and its ControllerRevisions from the
caches; make sure the current template has a revision (the *update* revision) and find the
*current* one (``status.currentRevision``); ask :func:`~.plan.next_steps` what to do; create
claims and pods or delete pods accordingly; write the status and prune history. A pod made
for ordinal ``i`` is named ``<set>-<i>``, so a create that races a cache miss fails with
AlreadyExists rather than making a duplicate. Pod events only enqueue the owning set's key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steersman.api.errors import StatusError
from steersman.client import (
    CONTROLLERREVISIONS,
    OWNER_UID_INDEX,
    PODS,
    PVCS,
    STATEFULSETS,
    Client,
    Clock,
    by_owner_uid,
)
from steersman.controllers.expectations import Expectations
from steersman.controllers.history import (
    ensure_revision,
    history_limit,
    prune_history,
    template_of,
)
from steersman.controllers.podstate import (
    is_terminating,
    name_of,
    owned,
    owned_by_kind,
    seconds_until_available,
    uid_of,
)
from steersman.controllers.runtime import InformerFactory, QueueController, object_key
from steersman.controllers.statefulset.identity import (
    claims_for,
    namespace_of,
    ordinal_of,
    revision_of,
    stateful_pod,
)
from steersman.controllers.statefulset.plan import Shape, Step, next_steps, set_status

Object = dict[str, Any]


class StatefulSetController(QueueController):
    name = "statefulset"

    def __init__(self, client: Client, *, clock: Clock | None = None) -> None:
        super().__init__(client, clock=clock)
        self.expectations = Expectations(self.clock)

    def setup(self, factory: InformerFactory) -> None:
        owner_index = {OWNER_UID_INDEX: by_owner_uid}
        self._sets = factory.informer(STATEFULSETS)
        self._pods = factory.informer(PODS, indexers=owner_index)
        self._claims = factory.informer(PVCS)
        self._revisions = factory.informer(CONTROLLERREVISIONS, indexers=owner_index)
        self._sets.add_handlers(on_add=self.enqueue, on_update=lambda _, new: self.enqueue(new),
                                on_delete=self.enqueue)
        self._pods.add_handlers(on_add=self._pod_changed,
                                on_update=lambda _, new: self._pod_changed(new),
                                on_delete=self._pod_changed)

    def _pod_changed(self, pod: Object) -> None:
        owner = owned_by_kind(pod, "StatefulSet")
        if owner:
            self.queue.add(f"{namespace_of(pod)}/{owner}")

    async def reconcile(self, key: str) -> float | None:
        sts = self._sets.indexer.get(key)
        if sts is None:
            self.expectations.forget(key)
            return None
        if is_terminating(sts) or not self.expectations.satisfied(key, self._pods.indexer.get):
            return None
        revisions = owned(self._revisions, sts)
        update = await ensure_revision(self.client, sts, _template(sts), revisions)
        by_name = {name_of(r): r for r in [*revisions, update]}
        current_name = str((sts.get("status") or {}).get("currentRevision") or "")
        current = by_name.get(current_name, update)
        pods = self._pods_by_ordinal(sts)
        shape = _shape(sts, name_of(current), name_of(update), self.clock.now())
        for step in next_steps(shape, pods):
            await self._apply(key, sts, step, by_name)
        in_use = {name_of(current), name_of(update)} | {revision_of(p) for p in pods.values()}
        await prune_history(self.client, revisions, in_use, history_limit(sts))
        collisions = int((sts.get("status") or {}).get("collisionCount") or 0)
        await self._write_status(sts, set_status(sts, shape, pods, collisions))
        return seconds_until_available(list(pods.values()), shape.min_ready_seconds, shape.now)

    def _pods_by_ordinal(self, sts: Object) -> dict[int, Object]:
        pods: dict[int, Object] = {}
        for pod in owned(self._pods, sts):
            ordinal = ordinal_of(name_of(sts), name_of(pod))
            if ordinal is not None:
                pods[ordinal] = pod
        return pods

    async def _apply(self, key: str, sts: Object, step: Step, revisions: Mapping[str, Object]
                     ) -> None:
        if step.action == "delete" and step.pod is not None:
            await self._delete(key, step.pod)
            return
        await self._create_claims(sts, step.ordinal)
        template = template_of(revisions[step.revision])
        pod = stateful_pod(sts, template, step.ordinal, step.revision)
        try:
            await self.client.create(PODS, pod)
        except StatusError as err:
            if err.code != 409:
                raise
        self.expectations.expect_created(key, object_key(pod))

    async def _create_claims(self, sts: Object, ordinal: int) -> None:
        for claim in claims_for(sts, ordinal):
            if self._claims.indexer.get(object_key(claim)) is not None:
                continue
            try:
                await self.client.create(PVCS, claim)
            except StatusError as err:
                if err.code != 409:
                    raise

    async def _delete(self, key: str, pod: Object) -> None:
        try:
            await self.client.delete(PODS, name_of(pod), namespace=namespace_of(pod),
                                     preconditions={"uid": uid_of(pod)})
        except StatusError as err:
            if err.code not in (404, 409):
                raise
            return
        self.expectations.expect_deleted(key, object_key(pod), uid_of(pod))

    async def _write_status(self, sts: Object, status: Object) -> None:
        if status != sts.get("status"):
            await self.client.update_status(STATEFULSETS, {**sts, "status": status})


def _shape(sts: Mapping[str, Any], current: str, update: str, now: float) -> Shape:
    spec = sts.get("spec") or {}
    strategy = spec.get("updateStrategy") or {}
    rolling = strategy.get("type", "RollingUpdate") == "RollingUpdate"
    partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
    replicas = spec.get("replicas")
    return Shape(replicas=1 if replicas is None else int(replicas), current_revision=current,
                 update_revision=update, partition=partition,
                 ordered=spec.get("podManagementPolicy", "OrderedReady") != "Parallel",
                 rolling=rolling, min_ready_seconds=int(spec.get("minReadySeconds") or 0),
                 now=now)


def _template(sts: Mapping[str, Any]) -> Object:
    return dict((sts.get("spec") or {}).get("template") or {})


