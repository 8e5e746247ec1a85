"""The PersistentVolume binder and the local-path provisioner, on an in-memory API.

:class:`MemoryAPI` keeps objects per resource, checks resourceVersions on update (a stale
write is a 409, as the server answers) and writes every change through to the informers'
informers as watch events (``Informer._apply``, the path a real watch takes), so handlers
run and each reconcile sees what the last one wrote.
"""

from __future__ import annotations

import copy
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from steersman.api.errors import StatusError
from steersman.client import PODS, PVCS, PVS, STORAGECLASSES, IndexFunc, Informer, Resource
from steersman.controllers.runtime import object_key
from steersman.controllers.volume import (
    LocalPathProvisioner,
    PersistentVolumeBinderController,
    PVCProtectionController,
)
from steersman.controllers.volume.binding import best_match, volume_phase

Object = dict[str, Any]


class MemoryAPI:
    def __init__(self) -> None:
        self.informers = {r.plural: Informer(self, r)  # type: ignore[arg-type]
                          for r in (PVCS, PVS, STORAGECLASSES, PODS)}
        self.events: list[tuple[str, str, str]] = []
        self._revision = 0

    def store(self, resource: Resource, obj: Object) -> Object:
        self._revision += 1
        stored = copy.deepcopy(obj)
        meta = stored.setdefault("metadata", {})
        meta["resourceVersion"] = str(self._revision)
        meta.setdefault("uid", f"uid-{meta['name']}")
        self.informers[resource.plural]._apply("MODIFIED", stored)
        return copy.deepcopy(stored)

    def remove(self, resource: Resource, key: str) -> Object:
        held = self.current(resource, key)
        assert held is not None
        self.informers[resource.plural]._apply("DELETED", held)
        return held

    def current(self, resource: Resource, key: str) -> Object | None:
        return self.informers[resource.plural].indexer.get(key)

    async def create(self, resource: Resource, obj: Object, **_: Any) -> Object:
        if self.current(resource, object_key(obj)) is not None:
            raise StatusError(409, "AlreadyExists", "exists")
        return self.store(resource, obj)

    async def update(self, resource: Resource, obj: Object, **_: Any) -> Object:
        held = self.current(resource, object_key(obj))
        if held is None:
            raise StatusError(404, "NotFound", "gone")
        if held["metadata"]["resourceVersion"] != obj["metadata"]["resourceVersion"]:
            raise StatusError(409, "Conflict", "stale")
        return self.store(resource, {**obj, "status": held.get("status", {})})

    async def update_status(self, resource: Resource, obj: Object, **_: Any) -> Object:
        held = self.current(resource, object_key(obj))
        assert held is not None
        if held["metadata"]["resourceVersion"] != obj["metadata"]["resourceVersion"]:
            raise StatusError(409, "Conflict", "stale")
        return self.store(resource, {**held, "status": obj["status"]})

    async def delete(self, resource: Resource, name: str, *, namespace: str = "",
                     preconditions: Object | None = None, **_: Any) -> Object:
        key = f"{namespace}/{name}" if namespace else name
        held = self.current(resource, key)
        if held is None:
            raise StatusError(404, "NotFound", "gone")
        if preconditions and preconditions.get("uid") != held["metadata"]["uid"]:
            raise StatusError(409, "Conflict", "uid precondition")
        return self.remove(resource, key)

    async def list(self, resource: Resource, *, namespace: str = "", **_: Any) -> Object:
        return {"items": [o for o in self.informers[resource.plural].indexer.list()
                          if o["metadata"].get("namespace") == namespace]}

    async def patch(self, resource: Resource, name: str, patch: Object, *,
                    namespace: str = "", **_: Any) -> Object:
        held = self.current(resource, f"{namespace}/{name}")
        assert held is not None
        if patch["metadata"]["resourceVersion"] != held["metadata"]["resourceVersion"]:
            raise StatusError(409, "Conflict", "stale")
        if not patch["metadata"]["finalizers"] and held["metadata"].get("deletionTimestamp"):
            return self.remove(resource, f"{namespace}/{name}")
        return self.store(resource, {**held, "metadata": {**held["metadata"], **patch[
            "metadata"]}})

    async def create_event(self, regarding: Object, *, reason: str, message: str,
                           type: str = "Normal", **_: Any) -> Object:
        self.events.append((type, reason, message))
        return {}


class Factory:
    def __init__(self, api: MemoryAPI) -> None:
        self.api = api

    def informer(self, resource: Resource, *, indexers: Mapping[str, IndexFunc] | None = None,
                 **_: Any) -> Informer:
        informer = self.api.informers[resource.plural]
        for name, func in (indexers or {}).items():
            informer.indexer.add_index(name, func)
        return informer


def local_path_class(**extra: Any) -> Object:
    return {"metadata": {"name": "local-path"}, "provisioner": "steersman.io/local-path",
            "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer", **extra}


def claim(name: str = "data", *, node: str = "", storage_class: str = "local-path",
          modes: tuple[str, ...] = ("ReadWriteOnce",), size: str = "1Gi") -> Object:
    meta: Object = {"name": name, "namespace": "ns", "uid": f"uid-{name}"}
    if node:
        meta["annotations"] = {"volume.kubernetes.io/selected-node": node}
    return {"metadata": meta, "status": {"phase": "Pending"},
            "spec": {"accessModes": list(modes), "storageClassName": storage_class,
                     "resources": {"requests": {"storage": size}}, "volumeMode": "Filesystem"}}


def static_volume(name: str, size: str, *, storage_class: str = "") -> Object:
    return {"metadata": {"name": name}, "status": {"phase": "Available"},
            "spec": {"capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"],
                     "storageClassName": storage_class, "volumeMode": "Filesystem",
                     "persistentVolumeReclaimPolicy": "Retain", "hostPath": {"path": "/srv"}}}


@pytest.fixture
def api() -> MemoryAPI:
    return MemoryAPI()


def controllers(api: MemoryAPI, root: Path
                ) -> tuple[PersistentVolumeBinderController, LocalPathProvisioner]:
    binder = PersistentVolumeBinderController(api)  # type: ignore[arg-type]
    provisioner = LocalPathProvisioner(api, root=root)  # type: ignore[arg-type]
    for controller in (binder, provisioner):
        controller.setup(Factory(api))  # type: ignore[arg-type]
    return binder, provisioner


async def settle(*controllers: Any) -> None:
    """Reconcile every queued key of every controller until all queues are empty."""
    for _ in range(20):
        busy = False
        for controller in controllers:
            while len(controller.queue):
                key = await controller.queue.get()
                await controller.reconcile(key)
                controller.queue.done(key)
                busy = True
        if not busy:
            return
    raise AssertionError("the controllers did not settle")


async def test_claim_waits_for_a_node_then_gets_a_bound_volume(
        api: MemoryAPI, tmp_path: Path) -> None:
    binder, provisioner = controllers(api, tmp_path)
    api.store(STORAGECLASSES, local_path_class())
    api.store(PVCS, claim())
    await settle(binder, provisioner)
    assert api.informers["persistentvolumes"].indexer.list() == []
    assert api.events == [("Normal", "WaitForFirstConsumer",
                           "waiting for first consumer to be created before binding")]

    api.store(PVCS, claim(node="n1"))
    await settle(binder, provisioner)
    volume = api.current(PVS, "pvc-uid-data")
    assert volume is not None and volume["status"] == {"phase": "Bound"}
    assert volume["spec"]["hostPath"] == {"path": str(tmp_path / "pvc-uid-data"),
                                          "type": "DirectoryOrCreate"}
    assert volume["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"] == [
        {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In",
                               "values": ["n1"]}]}]
    assert (volume["spec"]["claimRef"]["uid"], volume["spec"]["persistentVolumeReclaimPolicy"],
            volume["spec"]["storageClassName"]) == ("uid-data", "Delete", "local-path")
    assert stat.S_IMODE((tmp_path / "pvc-uid-data").stat().st_mode) == 0o777
    bound = api.current(PVCS, "ns/data")
    assert bound is not None and bound["spec"]["volumeName"] == "pvc-uid-data"
    assert bound["status"] == {"phase": "Bound", "accessModes": ["ReadWriteOnce"],
                               "capacity": {"storage": "1Gi"}}
    assert bound["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"] == "yes"
    assert [event[1] for event in api.events] == [
        "WaitForFirstConsumer", "ExternalProvisioning", "ProvisioningSucceeded"]
    assert api.events[-1][2] == "Successfully provisioned volume pvc-uid-data"
    assert "external provisioner 'steersman.io/local-path'" in api.events[1][2]


async def test_deleted_claim_releases_and_delete_policy_removes_the_directory(
        api: MemoryAPI, tmp_path: Path) -> None:
    binder, provisioner = controllers(api, tmp_path)
    api.store(STORAGECLASSES, local_path_class())
    api.store(PVCS, claim(node="n1"))
    await settle(binder, provisioner)
    (tmp_path / "pvc-uid-data" / "file").write_text("kept until the claim goes")
    api.remove(PVCS, "ns/data")
    await settle(binder, provisioner)
    assert api.current(PVS, "pvc-uid-data") is None
    assert not (tmp_path / "pvc-uid-data").exists()


async def test_retain_policy_keeps_a_released_volume(api: MemoryAPI, tmp_path: Path) -> None:
    binder, provisioner = controllers(api, tmp_path)
    api.store(STORAGECLASSES, local_path_class(reclaimPolicy="Retain"))
    api.store(PVCS, claim(node="n1"))
    await settle(binder, provisioner)
    api.remove(PVCS, "ns/data")
    await settle(binder, provisioner)
    volume = api.current(PVS, "pvc-uid-data")
    assert volume is not None and volume["status"]["phase"] == "Released"
    assert (tmp_path / "pvc-uid-data").is_dir()


async def test_refusals_are_one_warning_each(api: MemoryAPI, tmp_path: Path) -> None:
    binder, provisioner = controllers(api, tmp_path)
    api.store(STORAGECLASSES, local_path_class())
    api.store(STORAGECLASSES, {**local_path_class(volumeBindingMode="Immediate"),
                               "metadata": {"name": "now"}})
    api.store(PVCS, claim("shared", node="n1", modes=("ReadWriteMany",)))
    api.store(PVCS, claim("early", storage_class="now"))
    await settle(binder, provisioner)
    provisioner.enqueue(claim("shared"))
    await settle(binder, provisioner)
    warnings = sorted(e[2] for e in api.events if e[:2] == ("Warning", "ProvisioningFailed"))
    assert warnings == [
        "access mode(s) ReadWriteMany not supported: a local-path volume lives on one node "
        "(ReadWriteOnce, ReadWriteOncePod)",
        "configuration error, no node was specified"]
    assert api.informers["persistentvolumes"].indexer.list() == []


async def test_immediate_claim_takes_the_smallest_fitting_static_volume(
        api: MemoryAPI, tmp_path: Path) -> None:
    binder, _ = controllers(api, tmp_path)
    for name, size in (("small", "500Mi"), ("large", "10Gi"), ("fits", "2Gi")):
        api.store(PVS, static_volume(name, size))
    api.store(PVCS, claim(storage_class=""))
    await settle(binder)
    bound = api.current(PVCS, "ns/data")
    assert bound is not None and bound["spec"]["volumeName"] == "fits"
    assert bound["status"]["capacity"] == {"storage": "2Gi"}
    assert api.current(PVS, "fits")["status"]["phase"] == "Bound"  # type: ignore[index]
    assert api.current(PVS, "large")["status"]["phase"] == "Available"  # type: ignore[index]


def test_volume_phase_and_matching_rules() -> None:
    owner = claim()
    volume = static_volume("v", "1Gi")
    assert volume_phase(volume, None) == "Available"
    volume["spec"]["claimRef"] = {"namespace": "ns", "name": "data", "uid": "uid-data"}
    assert volume_phase(volume, owner) == "Available"  # reserved, not yet bound
    assert volume_phase(volume, {**owner, "spec": {"volumeName": "v"}}) == "Bound"
    assert volume_phase(volume, None) == "Released"
    replaced = {**owner, "metadata": {**owner["metadata"], "uid": "uid-new"}}
    assert volume_phase(volume, replaced) == "Released"
    wrong_class = static_volume("w", "5Gi", storage_class="fast")
    too_few_modes = {**static_volume("m", "5Gi"), "spec": {
        **static_volume("m", "5Gi")["spec"], "accessModes": ["ReadOnlyMany"]}}
    assert best_match(claim(storage_class=""), [wrong_class, too_few_modes]) is None


def user(name: str, claim_name: str, phase: str = "Running") -> Object:
    return {"metadata": {"name": name, "namespace": "ns"}, "status": {"phase": phase},
            "spec": {"volumes": [{"name": "v",
                                  "persistentVolumeClaim": {"claimName": claim_name}}]}}


async def test_a_claim_in_use_is_deleted_only_after_its_pods(api: MemoryAPI) -> None:
    protection = PVCProtectionController(api)  # type: ignore[arg-type]
    protection.setup(Factory(api))  # type: ignore[arg-type]
    api.store(PODS, user("running", "data"))
    api.store(PODS, user("finished", "data", phase="Succeeded"))
    api.store(PODS, user("other", "logs"))
    deleting = claim()
    deleting["metadata"].update(finalizers=["kubernetes.io/pvc-protection", "example.com/x"],
                                deletionTimestamp="2026-01-01T00:00:00Z")
    api.store(PVCS, deleting)
    await settle(protection)
    held = api.current(PVCS, "ns/data")
    assert held is not None and "kubernetes.io/pvc-protection" in held["metadata"]["finalizers"]
    api.remove(PODS, "ns/running")
    await settle(protection)
    released = api.current(PVCS, "ns/data")
    assert released is not None and released["metadata"]["finalizers"] == ["example.com/x"]
