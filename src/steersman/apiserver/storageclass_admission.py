"""DefaultStorageClass admission: a new claim that names no class gets the default one.

Upstream ``plugin/pkg/admission/storage/storageclass/setdefault``: on PersistentVolumeClaim
create, when ``spec.storageClassName`` is unset (``null``; an empty string asks for "no
class" and is kept) and the legacy ``volume.beta.kubernetes.io/storage-class`` annotation
is absent, the StorageClass annotated ``storageclass.kubernetes.io/is-default-class:
"true"`` is written into the claim; with several defaults the newest wins (then the name,
the smallest name). No default class: the claim is left alone.

The default class ``local-path`` itself is created at start by :mod:`.bootstrap`.

:class:`StorageObjectInUseProtection` (upstream's plugin of that name, its claim half) puts
the finalizer ``kubernetes.io/pvc-protection`` on every new claim; the ``pvc-protection``
controller takes it off once no pod uses the claim.
"""

from __future__ import annotations

from typing import Any

from steersman.api.resources import Registry, ResourceInfo
from steersman.api.volumes import BETA_CLASS_ANNOTATION, PVC_PROTECTION
from steersman.apiserver.generic import GenericRegistry

Object = dict[str, Any]
IS_DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
BETA_IS_DEFAULT_CLASS = "storageclass.beta.kubernetes.io/is-default-class"


def is_default_class(storage_class: Object) -> bool:
    annotations = (storage_class.get("metadata") or {}).get("annotations") or {}
    return any(annotations.get(key) == "true" for key in (IS_DEFAULT_CLASS,
                                                          BETA_IS_DEFAULT_CLASS))


class DefaultStorageClass:
    """Fills ``spec.storageClassName`` of new claims that leave it unset."""

    def __init__(self, registry: GenericRegistry, resources: Registry) -> None:
        self._registry = registry
        classes = resources.get("storage.k8s.io", "v1", "storageclasses")
        assert classes is not None, "storage.k8s.io/v1 storageclasses is not registered"
        self._classes = classes

    async def admit(self, info: ResourceInfo, op: str, new: Object | None, old: Object | None,
                    *, dry_run: bool) -> None:
        if op != "CREATE" or new is None or (info.group, info.kind) != (
                "", "PersistentVolumeClaim"):
            return
        spec = new.setdefault("spec", {})
        annotations = (new.get("metadata") or {}).get("annotations") or {}
        if spec.get("storageClassName") is not None or BETA_CLASS_ANNOTATION in annotations:
            return
        default = self._default_class()
        if default is not None:
            spec["storageClassName"] = default["metadata"]["name"]

    async def rollback(self, info: ResourceInfo, op: str, new: Object | None,
                       old: Object | None) -> None:
        return None

    def _default_class(self) -> Object | None:
        defaults = [c for c in self._registry.objects(self._classes) if is_default_class(c)]
        if not defaults:
            return None
        by_name = sorted(defaults, key=lambda c: str(c["metadata"]["name"]))
        newest: Object = max(by_name, key=lambda c: str(c["metadata"].get("creationTimestamp")
                                                        or ""))
        return newest  # max keeps the first of equals: the smallest name, as upstream


class StorageObjectInUseProtection:
    """Adds ``kubernetes.io/pvc-protection`` to the finalizers of new claims."""

    async def admit(self, info: ResourceInfo, op: str, new: Object | None, old: Object | None,
                    *, dry_run: bool) -> None:
        if op != "CREATE" or new is None or (info.group, info.kind) != (
                "", "PersistentVolumeClaim"):
            return
        finalizers = new.setdefault("metadata", {}).setdefault("finalizers", [])
        if PVC_PROTECTION not in finalizers:
            finalizers.append(PVC_PROTECTION)

    async def rollback(self, info: ResourceInfo, op: str, new: Object | None,
                       old: Object | None) -> None:
        return None
