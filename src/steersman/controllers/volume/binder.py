"""The PersistentVolume binder: binds claims to volumes and keeps both phases true.

kube-controller-manager's ``persistentvolume-binder`` for steersman's cases (the rules are
in :mod:`.binding`). Keys: a claim's is ``namespace/name``, a volume's (cluster-scoped) is
its bare name, so one queue serves both. Writes carry the resourceVersion they were based
on; a conflict is retried by the queue with a fresh read of the cache.

Order of a bind, as upstream's ``bind``: the volume's ``claimRef`` first (that reserves it),
then its phase, then the claim's ``volumeName``, then the claim's status. Each step is
idempotent, so a bind interrupted anywhere completes on the next reconcile.
"""

from __future__ import annotations

import copy
from typing import Any

from steersman.api.errors import StatusError
from steersman.api.volumes import (
    SELECTED_NODE,
    WAIT_FOR_FIRST_CONSUMER,
    annotations_of,
    claim_class,
    claim_ref_matches,
)
from steersman.client import PVCS, PVS, STORAGECLASSES, Client, Clock
from steersman.controllers.runtime import (
    InformerFactory,
    QueueController,
    object_key,
    split_key,
)
from steersman.controllers.volume.binding import (
    best_match,
    bound_claim_status,
    claim_with_volume,
    volume_phase,
    volume_with_claim_ref,
)

Object = dict[str, Any]
CLAIM_INDEX = "claim"


def claim_ref_key(volume: Object) -> list[str]:
    """``namespace/name`` of the claim a volume's ``claimRef`` names (the claim index)."""
    ref = (volume.get("spec") or {}).get("claimRef") or {}
    return [f"{ref.get('namespace')}/{ref['name']}"] if ref.get("name") else []


class PersistentVolumeBinderController(QueueController):
    name = "persistentvolume-binder"

    def __init__(self, client: Client, *, clock: Clock | None = None) -> None:
        super().__init__(client, clock=clock)
        self._noted: dict[str, str] = {}

    def setup(self, factory: InformerFactory) -> None:
        self._claims = factory.informer(PVCS)
        self._volumes = factory.informer(PVS, indexers={CLAIM_INDEX: claim_ref_key})
        self._classes = factory.informer(STORAGECLASSES)
        self._claims.add_handlers(on_add=self._claim_changed,
                                  on_update=lambda _, new: self._claim_changed(new),
                                  on_delete=self._claim_deleted)
        self._volumes.add_handlers(on_add=self._volume_changed,
                                   on_update=lambda _, new: self._volume_changed(new),
                                   on_delete=self._volume_changed)

    def _claim_changed(self, claim: Object) -> None:
        self.enqueue(claim)
        for volume in self._volumes.indexer.by_index(CLAIM_INDEX, object_key(claim)):
            self.enqueue(volume)

    def _claim_deleted(self, claim: Object) -> None:
        self._noted.pop(str(claim["metadata"].get("uid")), None)
        self._claim_changed(claim)

    def _volume_changed(self, volume: Object) -> None:
        self.enqueue(volume)
        ref = (volume.get("spec") or {}).get("claimRef") or {}
        if ref.get("name"):
            self.queue.add(f"{ref.get('namespace')}/{ref['name']}")

    async def reconcile(self, key: str) -> float | None:
        namespace, name = split_key(key)
        if namespace:
            await self._sync_claim(key)
        else:
            await self._sync_volume(name)
        return None

    async def _sync_claim(self, key: str) -> None:
        claim = self._claims.indexer.get(key)
        if claim is None or claim["metadata"].get("deletionTimestamp"):
            return
        if claim["spec"].get("selector") and not claim["spec"].get("volumeName"):
            await self._note(claim, "Warning", "VolumeMismatch",
                             "a claim with spec.selector is not bound: steersman's binder "
                             "does not match volume selectors")
            return
        volume = self._volume_for(claim)
        if volume is not None:
            await self._bind(claim, volume)
        elif self._waits_for_consumer(claim) and not claim["spec"].get("volumeName"):
            await self._note_waiting(claim)
        elif claim["spec"].get("volumeName") and claim.get("status", {}).get("phase") == "Bound":
            await self._claim_status(claim, {"phase": "Lost"})

    def _volume_for(self, claim: Object) -> Object | None:
        named = claim["spec"].get("volumeName")
        if named:
            volume = self._volumes.indexer.get(named)
            ref = ((volume or {}).get("spec") or {}).get("claimRef")
            return volume if volume is not None and (
                not ref or claim_ref_matches(volume, claim)) else None
        for volume in self._volumes.indexer.by_index(CLAIM_INDEX, object_key(claim)):
            if claim_ref_matches(volume, claim) and not volume["metadata"].get(
                    "deletionTimestamp"):
                return volume
        if self._waits_for_consumer(claim):
            return None
        match = best_match(claim, self._volumes.indexer.list())
        return None if match is None else dict(match)

    async def _note_waiting(self, claim: Object) -> None:
        """Upstream's events for a claim of a WaitForFirstConsumer class, before and after
        the scheduler picked its node."""
        if not annotations_of(claim).get(SELECTED_NODE):
            await self._note(claim, "Normal", "WaitForFirstConsumer",
                             "waiting for first consumer to be created before binding")
            return
        provisioner = (self._classes.indexer.get(claim_class(claim)) or {}).get("provisioner")
        await self._note(claim, "Normal", "ExternalProvisioning",
                         f"Waiting for a volume to be created either by the external "
                         f"provisioner '{provisioner}' or manually by the system "
                         f"administrator. If volume creation is delayed, please verify that "
                         f"the provisioner is running and correctly registered.")

    def _waits_for_consumer(self, claim: Object) -> bool:
        storage_class = self._classes.indexer.get(claim_class(claim)) or {}
        return storage_class.get("volumeBindingMode") == WAIT_FOR_FIRST_CONSUMER

    async def _bind(self, claim: Object, volume: Object) -> None:
        updated = volume_with_claim_ref(volume, claim)
        if updated is not None:
            volume = await self.client.update(PVS, updated)
        if (volume.get("status") or {}).get("phase") != "Bound":
            volume = await self._volume_status(volume, "Bound")
        bound = claim_with_volume(claim, volume["metadata"]["name"])
        if bound is not None:
            claim = await self.client.update(PVCS, bound)
        wanted = bound_claim_status(volume)
        if any(claim.get("status", {}).get(k) != v for k, v in wanted.items()):
            await self._claim_status(claim, wanted)

    async def _sync_volume(self, name: str) -> None:
        volume = self._volumes.indexer.get(name)
        if volume is None or volume["metadata"].get("deletionTimestamp"):
            return
        ref = volume["spec"].get("claimRef") or {}
        claim = self._claims.indexer.get(f"{ref.get('namespace')}/{ref.get('name')}")
        phase = volume_phase(volume, claim)
        if phase != (volume.get("status") or {}).get("phase") and (
                volume.get("status") or {}).get("phase") != "Failed":
            await self._volume_status(volume, phase)

    async def _volume_status(self, volume: Object, phase: str) -> Object:
        updated = copy.deepcopy(volume)
        updated["status"] = {**(volume.get("status") or {}), "phase": phase}
        result: Object = await self.client.update_status(PVS, updated)
        return result

    async def _claim_status(self, claim: Object, status: Object) -> None:
        updated = copy.deepcopy(claim)
        updated["status"] = {**(claim.get("status") or {}), **status}
        try:
            await self.client.update_status(PVCS, updated,
                                            namespace=claim["metadata"]["namespace"])
        except StatusError as err:
            if err.code != 404:
                raise

    async def _note(self, claim: Object, type: str, reason: str, message: str) -> None:
        """One event per claim and message (a resync does not repeat it)."""
        uid = str(claim["metadata"].get("uid"))
        if self._noted.get(uid) == message:
            return
        self._noted[uid] = message
        await self.client.create_event(claim, reason=reason, message=message, type=type,
                                       component=self.name)
