"""The DaemonSet controller: one pod per eligible node, rolled to new templates.

Reconcile by DaemonSet key: read the set, its pods (by owner uid), the nodes and its
ControllerRevisions from the informer caches; make sure the current template has a
revision; then either fix placement (:func:`~.plan.manage`) or, when placement is right,
take the next rolling-update step (:func:`~.plan.rolling_update`); finally write the status
and prune history beyond ``revisionHistoryLimit``. Daemon pods are not given ``nodeName``:
they are pinned with required node affinity on ``metadata.name`` and the scheduler binds
them, as upstream does since 1.12. Pod and node events only enqueue keys.
"""

from __future__ import annotations

import asyncio
import copy
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from steersman.api.errors import StatusError
from steersman.client import (
    CONTROLLERREVISIONS,
    DAEMONSETS,
    NODES,
    OWNER_UID_INDEX,
    PODS,
    Client,
    Clock,
    by_owner_uid,
)
from steersman.controllers.daemonset.eligibility import (
    NodeFit,
    daemon_tolerations,
    node_fit,
    pin_to_node,
    target_node,
)
from steersman.controllers.daemonset.plan import (
    Plan,
    Rollout,
    daemon_status,
    manage,
    resolve_rollout,
    rolling_update,
)
from steersman.controllers.expectations import Expectations
from steersman.controllers.history import (
    REVISION_HASH_LABEL,
    ensure_revision,
    history_limit,
    prune_history,
)
from steersman.controllers.podstate import (
    controller_ref,
    is_terminating,
    name_of,
    owned,
    owned_by_kind,
    seconds_until_available,
    uid_of,
)
from steersman.controllers.runtime import InformerFactory, QueueController, object_key

Object = dict[str, Any]
TEMPLATE_GENERATION_LABEL = "pod-template-generation"


class DaemonSetController(QueueController):
    name = "daemonset"

    def __init__(self, client: Client, *, clock: Clock | None = None) -> None:
        super().__init__(client, clock=clock)
        self.expectations = Expectations(self.clock)

    def setup(self, factory: InformerFactory) -> None:
        owner_index = {OWNER_UID_INDEX: by_owner_uid}
        self._sets = factory.informer(DAEMONSETS)
        self._pods = factory.informer(PODS, indexers=owner_index)
        self._nodes = factory.informer(NODES)
        self._revisions = factory.informer(CONTROLLERREVISIONS, indexers=owner_index)
        self._sets.add_handlers(on_add=self.enqueue, on_update=lambda _, new: self.enqueue(new),
                                on_delete=self.enqueue)
        self._pods.add_handlers(on_add=self._pod_changed,
                                on_update=lambda _, new: self._pod_changed(new),
                                on_delete=self._pod_changed)
        self._nodes.add_handlers(on_add=self._enqueue_all, on_update=self._node_updated,
                                 on_delete=self._enqueue_all)

    def _pod_changed(self, pod: Object) -> None:
        owner = owned_by_kind(pod, "DaemonSet")
        if owner:
            self.queue.add(f"{(pod.get('metadata') or {}).get('namespace', '')}/{owner}")

    def _node_updated(self, old: Object, new: Object) -> None:
        if (old.get("metadata") or {}).get("labels") != (new.get("metadata") or {}).get(
                "labels") or old.get("spec") != new.get("spec"):
            self._enqueue_all(new)

    def _enqueue_all(self, _node: Object) -> None:
        for ds in self._sets.indexer.list():
            self.enqueue(ds)

    async def reconcile(self, key: str) -> float | None:
        ds = self._sets.indexer.get(key)
        if ds is None:
            self.expectations.forget(key)
            return None
        if is_terminating(ds) or not self.expectations.satisfied(key, self._pods.indexer.get):
            return None
        revisions = owned(self._revisions, ds)
        revision = await ensure_revision(self.client, ds, _template(ds), revisions)
        digest = str(revision["metadata"]["labels"][REVISION_HASH_LABEL])
        pods = owned(self._pods, ds)
        node_pods: dict[str, list[Object]] = defaultdict(list)
        for pod in pods:
            node_pods[target_node(pod)].append(pod)
        fits = self._fits(ds)
        rollout = resolve_rollout(ds, desired=sum(f.should_run for f in fits.values()),
                                  hash=digest, now=self.clock.now())
        await self._apply(key, ds, self._plan(ds, fits, node_pods, rollout), digest)
        in_use = {name_of(revision)} | {f"{name_of(ds)}-{_pod_hash(p)}" for p in pods}
        await prune_history(self.client, revisions, in_use, history_limit(ds))
        await self._write_status(ds, daemon_status(ds, fits, node_pods, rollout))
        return seconds_until_available(pods, rollout.min_ready_seconds, rollout.now)

    def _fits(self, ds: Object) -> dict[str, NodeFit]:
        spec = _template(ds).get("spec") or {}
        return {name_of(node): node_fit(spec, node) for node in self._nodes.indexer.list()}

    def _plan(self, ds: Object, fits: dict[str, NodeFit], node_pods: dict[str, list[Object]],
              rollout: Rollout) -> Plan:
        plan = manage(fits, node_pods, rollout)
        strategy = ((ds.get("spec") or {}).get("updateStrategy") or {}).get("type")
        if plan or strategy == "OnDelete":
            return plan
        return rolling_update(fits, node_pods, rollout)

    async def _apply(self, key: str, ds: Object, plan: Plan, digest: str) -> None:
        creates = [self._create(key, daemon_pod(ds, node, digest)) for node in plan.create_on]
        deletes = [self._delete(key, pod) for pod in plan.delete]
        results = await asyncio.gather(*creates, *deletes, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def _create(self, key: str, pod: Object) -> None:
        created = await self.client.create(PODS, pod)
        self.expectations.expect_created(key, object_key(created))

    async def _delete(self, key: str, pod: Object) -> None:
        try:
            await self.client.delete(PODS, name_of(pod), namespace=pod["metadata"]["namespace"],
                                     preconditions={"uid": uid_of(pod)})
        except StatusError as err:
            if err.code not in (404, 409):
                raise
            return
        self.expectations.expect_deleted(key, object_key(pod), uid_of(pod))

    async def _write_status(self, ds: Object, status: Object) -> None:
        if status != ds.get("status"):
            await self.client.update_status(DAEMONSETS, {**ds, "status": status})


def daemon_pod(ds: Mapping[str, Any], node: str, digest: str) -> Object:
    """The pod ``ds`` runs on ``node``: its template, pinned there, with daemon tolerations."""
    template = copy.deepcopy(_template(ds))
    template_meta = template.get("metadata") or {}
    labels = {**(template_meta.get("labels") or {}), REVISION_HASH_LABEL: digest,
              TEMPLATE_GENERATION_LABEL: str((ds.get("metadata") or {}).get("generation", 1))}
    metadata: Object = {"generateName": f"{name_of(ds)}-",
                        "namespace": (ds.get("metadata") or {}).get("namespace", ""),
                        "labels": labels, "ownerReferences": [controller_ref(ds)]}
    if template_meta.get("annotations"):
        metadata["annotations"] = template_meta["annotations"]
    spec = template.get("spec") or {}
    spec["affinity"] = pin_to_node(spec, node)
    spec["tolerations"] = daemon_tolerations(spec)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


def _template(ds: Mapping[str, Any]) -> Object:
    return dict((ds.get("spec") or {}).get("template") or {})



def _pod_hash(pod: Mapping[str, Any]) -> str:
    return str(((pod.get("metadata") or {}).get("labels") or {}).get(REVISION_HASH_LABEL, ""))

