"""One pass over one Deployment: its ReplicaSets, and the writes that move it forward.

:class:`DeploymentSync` holds a private copy of the Deployment and of its (claimed)
ReplicaSets and keeps both current as it writes, so the steps of :mod:`.rollout` see their
own effects. Every write is a PUT of the copy it read, carrying its resourceVersion: a 409
means the cache was stale and the key is reconciled again (STYLE.md rule 4).

Writes: creating the new ReplicaSet (``getNewReplicaSet`` of kubernetes ``sync.go``, with
hash collisions counted in ``status.collisionCount``), scaling a ReplicaSet (size and its
size annotations, with a ``ScalingReplicaSet`` event), the Deployment's revision
annotation, its status, and deleting ReplicaSets beyond ``revisionHistoryLimit``.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from steersman.api.errors import StatusError
from steersman.client import DEPLOYMENTS, REPLICASETS, Client, Clock
from steersman.controllers.deployment.hashing import (
    POD_TEMPLATE_HASH_LABEL,
    compute_hash,
    equal_ignore_hash,
)
from steersman.controllers.deployment.progress import (
    FAILED_RS_CREATE,
    FOUND_NEW_RS,
    NEW_RS_CREATED,
    PROGRESSING,
    get_condition,
    has_progress_deadline,
    new_condition,
    set_condition,
    status_of,
)
from steersman.controllers.deployment.replicasets import (
    name_of,
    replicas_of,
    split_new_old,
    template_of,
)
from steersman.controllers.deployment.revisions import (
    REVISION,
    annotations_of,
    deployment_size_annotations,
    max_revision,
    replicas_annotations_need_update,
    revision_of,
    set_new_rs_annotations,
    set_replicas_annotations,
)
from steersman.controllers.deployment.rolling import new_rs_new_replicas
from steersman.controllers.podstate import controller_of, controller_ref, uid_of

log = logging.getLogger(__name__)
Object = dict[str, Any]


class HashCollision(Exception):
    """The new ReplicaSet's name is taken by another template; collisionCount was bumped."""


class DeploymentSync:
    def __init__(self, client: Client, clock: Clock, deployment: Object,
                 replica_sets: list[Object]) -> None:
        self.client = client
        self.clock = clock
        self.deployment = copy.deepcopy(deployment)
        self.replica_sets = list(replica_sets)

    @property
    def namespace(self) -> str:
        return str((self.deployment.get("metadata") or {}).get("namespace") or "")

    @property
    def name(self) -> str:
        return name_of(self.deployment)

    # -- the new ReplicaSet -------------------------------------------------------------

    async def new_and_old(self, *, create: bool) -> tuple[Object | None, list[Object]]:
        """``getAllReplicaSetsAndSyncRevision``: the new ReplicaSet (created if asked and
        missing, its revision brought up to date) and the old ones."""
        existing, old = split_new_old(self.deployment, self.replica_sets)
        revision = max_revision(old) + 1
        if existing is not None:
            return await self._sync_existing(existing, revision), old
        if not create:
            return None, old
        return await self._create_new(old, revision), old

    async def _sync_existing(self, rs: Object, revision: int) -> Object:
        changed = copy.deepcopy(rs)
        annotated = set_new_rs_annotations(self.deployment, changed, revision, exists=True)
        min_ready = (self.deployment.get("spec") or {}).get("minReadySeconds") or 0
        if annotated or (changed.get("spec") or {}).get("minReadySeconds", 0) != min_ready:
            changed["spec"]["minReadySeconds"] = min_ready
            return self._remember(await self.client.update(REPLICASETS, changed))
        await self.set_revision(str(revision_of(rs)))
        status = copy.deepcopy(status_of(self.deployment))
        if has_progress_deadline(self.deployment) and get_condition(status, PROGRESSING) is None:
            set_condition(status, new_condition(PROGRESSING, "True", FOUND_NEW_RS,
                                                f'Found new replica set "{name_of(rs)}"',
                                                self.clock.now()))
            await self.write_status(status)
        return rs

    def _new_replica_set(self, old: list[Object], revision: int) -> Object:
        spec = self.deployment.get("spec") or {}
        template = copy.deepcopy(template_of(self.deployment))
        pod_hash = compute_hash(template, status_of(self.deployment).get("collisionCount"))
        labels = {**((template.get("metadata") or {}).get("labels") or {}),
                  POD_TEMPLATE_HASH_LABEL: pod_hash}
        template.setdefault("metadata", {})["labels"] = labels
        selector = copy.deepcopy(spec.get("selector") or {})
        selector["matchLabels"] = {**(selector.get("matchLabels") or {}),
                                   POD_TEMPLATE_HASH_LABEL: pod_hash}
        rs: Object = {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": f"{self.name}-{pod_hash}", "namespace": self.namespace,
                         "labels": dict(labels),
                         "ownerReferences": [controller_ref(self.deployment)]},
            "spec": {"replicas": 0, "minReadySeconds": spec.get("minReadySeconds") or 0,
                     "selector": selector, "template": template},
        }
        rs["spec"]["replicas"] = new_rs_new_replicas(self.deployment, [*old, rs], rs)
        set_new_rs_annotations(self.deployment, rs, revision, exists=False)
        return rs

    async def _create_new(self, old: list[Object], revision: int) -> Object:
        rs = self._new_replica_set(old, revision)
        try:
            created, fresh = await self.client.create(REPLICASETS, rs), True
        except StatusError as err:
            if err.code != 409:
                await self._creation_failed(name_of(rs), err)
                raise
            created, fresh = await self._existing_or_collision(rs), False
        self._remember(created)
        if fresh and replicas_of(created) > 0:
            await self.event("ScalingReplicaSet", f"Scaled up replica set {name_of(created)} "
                                                  f"from 0 to {replicas_of(created)}")
        await self.set_revision(str(revision))
        if fresh and has_progress_deadline(self.deployment):
            status = copy.deepcopy(status_of(self.deployment))
            set_condition(status, new_condition(
                PROGRESSING, "True", NEW_RS_CREATED,
                f'Created new replica set "{name_of(created)}"', self.clock.now()))
            await self.write_status(status)
        return created

    async def _existing_or_collision(self, rs: Object) -> Object:
        live = await self.client.get(REPLICASETS, name_of(rs), namespace=self.namespace)
        ref = controller_of(live)
        if ref is not None and ref.get("uid") == uid_of(self.deployment) and equal_ignore_hash(
                template_of(live), template_of(self.deployment)):
            return live
        status = copy.deepcopy(status_of(self.deployment))
        status["collisionCount"] = int(status.get("collisionCount") or 0) + 1
        await self.write_status(status)
        raise HashCollision(f"replica set {name_of(rs)} exists with another template")

    async def _creation_failed(self, name: str, err: StatusError) -> None:
        message = f'Failed to create new replica set "{name}": {err.message}'
        if has_progress_deadline(self.deployment):
            status = copy.deepcopy(status_of(self.deployment))
            set_condition(status, new_condition(PROGRESSING, "False", FAILED_RS_CREATE,
                                                message, self.clock.now()))
            await self.write_status(status)
        await self.event(FAILED_RS_CREATE, message, "Warning")

    # -- ReplicaSet writes --------------------------------------------------------------

    def _remember(self, rs: Object) -> Object:
        self.replica_sets = [r for r in self.replica_sets if name_of(r) != name_of(rs)]
        self.replica_sets.append(rs)
        return rs

    def current(self, rs: Object) -> Object:
        """The latest copy this pass holds of ``rs``."""
        return next((r for r in self.replica_sets if name_of(r) == name_of(rs)), rs)

    async def scale(self, rs: Object, size: int) -> bool:
        """Set ``rs`` to ``size`` (and its size annotations); whether the size changed."""
        rs = self.current(rs)
        desired, most = deployment_size_annotations(self.deployment)
        resize = replicas_of(rs) != size
        if not resize and not replicas_annotations_need_update(rs, desired, most):
            return False
        changed = copy.deepcopy(rs)
        changed["spec"]["replicas"] = size
        set_replicas_annotations(changed, desired, most)
        self._remember(await self.client.update(REPLICASETS, changed))
        if resize:
            verb = "up" if size > replicas_of(rs) else "down"
            await self.event("ScalingReplicaSet", f"Scaled {verb} replica set {name_of(rs)} "
                                                  f"from {replicas_of(rs)} to {size}")
        return resize

    async def apply(self, plan: dict[str, int]) -> bool:
        """Scale every ReplicaSet the plan names; whether any size changed."""
        scaled = False
        for rs in list(self.replica_sets):
            if name_of(rs) in plan:
                scaled = await self.scale(rs, plan[name_of(rs)]) or scaled
        return scaled

    async def cleanup(self, old: list[Object]) -> None:
        """Delete the oldest empty ReplicaSets beyond ``revisionHistoryLimit``."""
        limit = (self.deployment.get("spec") or {}).get("revisionHistoryLimit")
        if not isinstance(limit, int):
            return
        alive = [self.current(rs) for rs in old
                 if not (rs.get("metadata") or {}).get("deletionTimestamp")]
        surplus = len(alive) - limit
        for rs in sorted(alive, key=lambda r: (revision_of(r), name_of(r)))[:max(surplus, 0)]:
            if _deletable(rs):
                await self._delete(rs)

    async def _delete(self, rs: Object) -> None:
        try:
            await self.client.delete(REPLICASETS, name_of(rs), namespace=self.namespace,
                                     preconditions={"uid": uid_of(rs)})
        except StatusError as err:
            if err.code != 404:
                raise

    # -- Deployment writes --------------------------------------------------------------

    async def set_revision(self, revision: str) -> None:
        """Mirror the new ReplicaSet's revision on the Deployment (what ``kubectl`` shows)."""
        if annotations_of(self.deployment).get(REVISION) == revision:
            return
        changed = copy.deepcopy(self.deployment)
        changed["metadata"]["annotations"] = {**annotations_of(changed), REVISION: revision}
        self.deployment = await self.client.update(DEPLOYMENTS, changed)

    async def write_status(self, status: Object) -> None:
        if status == status_of(self.deployment):
            return
        self.deployment = await self.client.update_status(
            DEPLOYMENTS, {**self.deployment, "status": status})

    async def event(self, reason: str, message: str, type: str = "Normal") -> None:
        try:
            await self.client.create_event(self.deployment, reason=reason, message=message,
                                           type=type, component="deployment-controller")
        except StatusError as err:
            log.debug("event %s for %s not recorded: %s", reason, self.name, err.message)


def _deletable(rs: Object) -> bool:
    meta = rs.get("metadata") or {}
    observed = int((rs.get("status") or {}).get("observedGeneration") or 0)
    return (replicas_of(rs) == 0 and int((rs.get("status") or {}).get("replicas") or 0) == 0
            and int(meta.get("generation") or 0) <= observed
            and not meta.get("deletionTimestamp"))
