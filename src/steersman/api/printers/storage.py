"""storage.k8s.io/v1 rows: StorageClass, marked ``(default)`` by its annotation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steersman.api.printers.cells import age, mapping, name_of, text
from steersman.api.printers.columns import AGE, NAME, Printer, api, col

_DEFAULT_ANNOTATIONS = (
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
)


def _storage_class(obj: Mapping[str, Any], now: float) -> list[Any]:
    annotations = mapping(obj, "metadata", "annotations")
    is_default = any(annotations.get(key) == "true" for key in _DEFAULT_ANNOTATIONS)
    return [
        name_of(obj) + (" (default)" if is_default else ""), text(obj, "provisioner"),
        text(obj, "reclaimPolicy") or "Delete", text(obj, "volumeBindingMode") or "Immediate",
        obj.get("allowVolumeExpansion") is True, age(obj, now),
    ]


def _doc(field: str) -> Any:
    return api("storage.v1.StorageClass", field)


_COLUMNS = (
    NAME,
    col("Provisioner", _doc("provisioner")),
    col("ReclaimPolicy", _doc("reclaimPolicy")),
    col("VolumeBindingMode", _doc("volumeBindingMode")),
    col("AllowVolumeExpansion", _doc("allowVolumeExpansion")),
    AGE,
)

PRINTERS = {"StorageClass": Printer(_COLUMNS, _storage_class)}
