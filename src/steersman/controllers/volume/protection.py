"""PVC protection: a claim in use by a pod is not deleted until no pod uses it.

kube-controller-manager's ``pvc-protection``. Admission puts the finalizer
``kubernetes.io/pvc-protection`` on every new claim (``StorageObjectInUseProtection``);
deleting a claim then only marks it (``Terminating``). This controller removes the
finalizer once no pod of the claim's namespace that has not finished (phase other than
Succeeded or Failed) names the claim in its volumes — asked of the informer first, then,
before the finalizer goes, of the API server, so a pod the cache has not seen yet still
counts. Only then does the claim go, and with it (reclaim policy Delete) its volume and
data: a running pod never loses its volume underneath it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from steersman.api.errors import StatusError
from steersman.api.volumes import PVC_PROTECTION, claim_volume_names
from steersman.client import NAMESPACE_INDEX, PODS, PVCS, Client, Clock
from steersman.controllers.podstate import is_terminal
from steersman.controllers.runtime import InformerFactory, QueueController, split_key

Object = dict[str, Any]


def uses_claim(pods: Iterable[Object], claim_name: str) -> bool:
    return any(not is_terminal(pod) and any(name == claim_name
                                            for _, name in claim_volume_names(pod))
               for pod in pods)


class PVCProtectionController(QueueController):
    name = "pvc-protection"

    def __init__(self, client: Client, *, clock: Clock | None = None) -> None:
        super().__init__(client, clock=clock)

    def setup(self, factory: InformerFactory) -> None:
        self._claims = factory.informer(PVCS)
        self._pods = factory.informer(PODS)
        self._claims.add_handlers(on_add=self._claim_changed,
                                  on_update=lambda _, new: self._claim_changed(new))
        self._pods.add_handlers(on_update=lambda _, new: self._pod_changed(new),
                                on_delete=self._pod_changed)

    def _claim_changed(self, claim: Object) -> None:
        meta = claim.get("metadata") or {}
        if meta.get("deletionTimestamp") and PVC_PROTECTION in (meta.get("finalizers") or []):
            self.enqueue(claim)

    def _pod_changed(self, pod: Object) -> None:
        namespace = (pod.get("metadata") or {}).get("namespace")
        for _, claim_name in claim_volume_names(pod):
            claim = self._claims.indexer.get(f"{namespace}/{claim_name}")
            if claim is not None:
                self._claim_changed(claim)

    async def reconcile(self, key: str) -> float | None:
        claim = self._claims.indexer.get(key)
        if claim is None:
            return None
        meta = claim["metadata"]
        if not meta.get("deletionTimestamp") or PVC_PROTECTION not in (
                meta.get("finalizers") or []):
            return None
        namespace, name = split_key(key)
        if uses_claim(self._pods.indexer.by_index(NAMESPACE_INDEX, namespace), name):
            return None
        live = await self.client.list(PODS, namespace=namespace)
        if uses_claim(live.get("items") or [], name):
            return None
        await self._release(claim)
        return None

    async def _release(self, claim: Object) -> None:
        meta = claim["metadata"]
        patch = {"metadata": {
            "finalizers": [f for f in meta.get("finalizers") or [] if f != PVC_PROTECTION],
            "resourceVersion": meta["resourceVersion"]}}
        try:
            await self.client.patch(PVCS, meta["name"], patch, namespace=meta["namespace"])
        except StatusError as err:
            if err.code != 404:
                raise
