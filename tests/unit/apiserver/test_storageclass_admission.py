"""The default StorageClass from bootstrap; DefaultStorageClass and protection admission."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from steersman.api.builtin import builtin_registry
from steersman.api.resources import ResourceInfo
from steersman.apiserver.bootstrap import ensure_builtin_objects
from steersman.apiserver.generic import GenericRegistry
from steersman.apiserver.storageclass_admission import (
    DefaultStorageClass,
    StorageObjectInUseProtection,
)
from steersman.apiserver.watchcache import WatchCache
from steersman.store.memory import MemoryStore


@pytest.fixture
async def registry() -> AsyncIterator[GenericRegistry]:
    store = MemoryStore()
    cache = WatchCache(store)
    await cache.start()
    registry = GenericRegistry(store=store, cache=cache, resources=builtin_registry())
    registry.admission = [DefaultStorageClass(registry, registry.resources),
                          StorageObjectInUseProtection()]
    await ensure_builtin_objects(registry, registry.resources, cluster_ip="127.43.0.1",
                                 advertise_ip="127.0.0.1", port=6443)
    yield registry
    await cache.close()


def info(registry: GenericRegistry, group: str, plural: str) -> ResourceInfo:
    found = registry.resources.get(group, "v1", plural)
    assert found is not None
    return found


async def create_claim(registry: GenericRegistry, name: str, **spec: Any) -> dict[str, Any]:
    body = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "1Gi"}}, **spec}}
    created: dict[str, Any] = await registry.create(
        info(registry, "", "persistentvolumeclaims"), "default", body)
    return created


async def test_claims_without_a_class_get_the_default(registry: GenericRegistry) -> None:
    classes = info(registry, "storage.k8s.io", "storageclasses")
    local_path = await registry.get(classes, "", "local-path")
    assert (local_path["provisioner"], local_path["reclaimPolicy"],
            local_path["volumeBindingMode"]) == (
        "steersman.io/local-path", "Delete", "WaitForFirstConsumer")
    assert local_path["metadata"]["annotations"] == {
        "storageclass.kubernetes.io/is-default-class": "true"}
    created = await create_claim(registry, "a")
    assert created["spec"]["storageClassName"] == "local-path"
    assert created["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    assert (await create_claim(registry, "b", storageClassName=""))["spec"][
        "storageClassName"] == ""  # "" asks for no class
    assert (await create_claim(registry, "c", storageClassName="fast"))["spec"][
        "storageClassName"] == "fast"


async def test_without_a_default_class_claims_are_left_alone(registry: GenericRegistry) -> None:
    classes = info(registry, "storage.k8s.io", "storageclasses")
    local_path = await registry.get(classes, "", "local-path")
    local_path["metadata"]["annotations"] = {}
    await registry.update(classes, "", "local-path", local_path)
    assert "storageClassName" not in (await create_claim(registry, "a"))["spec"]
