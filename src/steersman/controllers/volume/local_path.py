"""The local-path provisioner: a directory-backed volume for each claim of its classes.

Serves StorageClasses whose ``provisioner`` is ``steersman.io/local-path`` (the default
class ``local-path``), as rancher's local-path-provisioner serves k3s' class:

* a claim of such a class, not yet bound, gets its volume once the scheduler has written
  ``volume.kubernetes.io/selected-node`` on it (the class waits for the first consumer);
  the directory ``<root>/pvc-<uid>`` is made first (mode 0777, so a container of any uid
  can write), then the volume (:mod:`.provisioning`), and the binder binds the two;
* a volume it made that is ``Released`` with reclaim policy Delete loses its directory,
  then its object; Retain keeps both.

The directories are made and removed here, in the controller manager's process, not by a
helper pod on the node as upstream: that is right for ``steersman up`` (server and nodes
on one machine) and for a server that runs an agent itself; on agents of other machines
the node agent makes the directory when the pod starts (``DirectoryOrCreate``) and nothing
removes it. Refusals (an access mode one node cannot give, a selector, a class that does
not wait for its first consumer) are ``ProvisioningFailed`` Warning events on the claim.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path
from typing import Any

from steersman.api.errors import StatusError
from steersman.api.volumes import (
    LOCAL_PATH_PROVISIONER,
    SELECTED_NODE,
    WAIT_FOR_FIRST_CONSUMER,
    annotations_of,
    claim_class,
)
from steersman.client import PVCS, PVS, STORAGECLASSES, Client, Clock
from steersman.controllers.runtime import InformerFactory, QueueController, split_key
from steersman.controllers.volume.provisioning import (
    make_directory,
    owned_directory,
    provisioned_volume,
    refusal,
    volume_name,
)

log = logging.getLogger(__name__)
Object = dict[str, Any]
NO_NODE = "configuration error, no node was specified"


class LocalPathProvisioner(QueueController):
    name = "local-path-provisioner"

    def __init__(self, client: Client, *, root: Path, clock: Clock | None = None) -> None:
        super().__init__(client, clock=clock)
        self.root = root
        self._warned: dict[str, str] = {}

    def setup(self, factory: InformerFactory) -> None:
        self._claims = factory.informer(PVCS)
        self._volumes = factory.informer(PVS)
        self._classes = factory.informer(STORAGECLASSES)
        for informer in (self._claims, self._volumes):
            informer.add_handlers(on_add=self.enqueue,
                                  on_update=lambda _, new: self.enqueue(new))
        self._claims.add_handlers(on_delete=self._forget)

    def _forget(self, claim: Object) -> None:
        self._warned.pop(str(claim["metadata"].get("uid")), None)

    async def reconcile(self, key: str) -> float | None:
        namespace, name = split_key(key)
        if namespace:
            await self._provision(key)
        else:
            await self._reclaim(name)
        return None

    async def _provision(self, key: str) -> None:
        claim = self._claims.indexer.get(key)
        if claim is None or claim["metadata"].get("deletionTimestamp") or (
                claim.get("spec") or {}).get("volumeName"):
            return
        storage_class = self._classes.indexer.get(claim_class(claim))
        if storage_class is None or storage_class.get("provisioner") != LOCAL_PATH_PROVISIONER:
            return
        node = annotations_of(claim).get(SELECTED_NODE)
        problem = refusal(claim)
        if not node and storage_class.get("volumeBindingMode") != WAIT_FOR_FIRST_CONSUMER:
            problem = NO_NODE
        if problem:
            await self._warn(claim, problem)
            return
        if not node or self._volumes.indexer.get(volume_name(claim)) is not None:
            return
        await self._create(claim, provisioned_volume(claim, storage_class, node=node,
                                                     root=self.root))

    async def _create(self, claim: Object, volume: Object) -> None:
        await asyncio.to_thread(make_directory, Path(volume["spec"]["hostPath"]["path"]))
        try:
            await self.client.create(PVS, volume)
        except StatusError as err:
            if err.reason != "AlreadyExists":
                raise
            return
        await self.client.create_event(
            claim, reason="ProvisioningSucceeded", component=self.name,
            message=f"Successfully provisioned volume {volume['metadata']['name']}")

    async def _reclaim(self, name: str) -> None:
        volume = self._volumes.indexer.get(name)
        if volume is None or volume["metadata"].get("deletionTimestamp"):
            return
        directory = owned_directory(volume, self.root)
        if directory is None or (volume.get("status") or {}).get("phase") != "Released" or (
                volume["spec"].get("persistentVolumeReclaimPolicy") != "Delete"):
            return
        await asyncio.to_thread(shutil.rmtree, directory, ignore_errors=True)
        log.info("deleted local-path volume %s and its directory %s", name, directory)
        try:
            await self.client.delete(PVS, name,
                                     preconditions={"uid": volume["metadata"]["uid"]})
        except StatusError as err:
            if err.code not in (404, 409):
                raise

    async def _warn(self, claim: Object, message: str) -> None:
        """One ``ProvisioningFailed`` event per claim and message."""
        uid = str(claim["metadata"].get("uid"))
        if self._warned.get(uid) == message:
            return
        self._warned[uid] = message
        await self.client.create_event(claim, reason="ProvisioningFailed", message=message,
                                       type="Warning", component=self.name)
