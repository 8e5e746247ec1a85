"""Rows of the smaller core/v1 kinds: namespaces, config, quota, controllers, volumes.

Pods, nodes, services and events have modules of their own; LimitRange has no printer
upstream and prints with the default columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steersman.api.printers.cells import (
    UNSET,
    age,
    container_cells,
    dig,
    format_labels,
    items,
    mapping,
    name_of,
    number,
    quantity,
    text,
)
from steersman.api.printers.columns import (
    AGE,
    CONTAINERS,
    IMAGES,
    NAME,
    WIDE,
    Printer,
    api,
    col,
)

_STORAGE_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"
_ACCESS_MODES = (
    ("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"),
    ("ReadWriteOncePod", "RWOP"),
)


def _namespace(obj: Mapping[str, Any], now: float) -> list[Any]:
    return [name_of(obj), text(obj, "status", "phase"), age(obj, now)]


def _config_map(obj: Mapping[str, Any], now: float) -> list[Any]:
    count = len(mapping(obj, "data")) + len(mapping(obj, "binaryData"))
    return [name_of(obj), count, age(obj, now)]


def _secret(obj: Mapping[str, Any], now: float) -> list[Any]:
    return [name_of(obj), text(obj, "type"), len(mapping(obj, "data")), age(obj, now)]


def _service_account(obj: Mapping[str, Any], now: float) -> list[Any]:
    return [name_of(obj), len(items(obj, "secrets")), age(obj, now)]


def _replication_controller(obj: Mapping[str, Any], now: float) -> list[Any]:
    spec, status = mapping(obj, "spec"), mapping(obj, "status")
    return [
        name_of(obj), number(spec, "replicas", default=1), number(status, "replicas"),
        number(status, "readyReplicas"), age(obj, now),
        *container_cells(dig(spec, "template", "spec")), format_labels(spec.get("selector")),
    ]


def _pod_template(obj: Mapping[str, Any], now: float) -> list[Any]:
    template = mapping(obj, "template")
    return [
        name_of(obj), *container_cells(template.get("spec")),
        format_labels(dig(template, "metadata", "labels")),
    ]


def _resource_quota(obj: Mapping[str, Any], now: float) -> list[Any]:
    hard, used = mapping(obj, "status", "hard"), mapping(obj, "status", "used")
    requests: list[str] = []
    limits: list[str] = []
    for resource in sorted(hard):
        pieces = resource.split(".")
        column = limits if len(pieces) > 1 and pieces[0] == "limits" else requests
        column.append(f"{resource}: {quantity(used.get(resource))}/{quantity(hard[resource])}")
    return [name_of(obj), ", ".join(requests), ", ".join(limits), age(obj, now)]


def access_modes(modes: list[Any]) -> str:
    """``GetAccessModesAsString``: RWO, ROX, RWX, RWOP in that order, each once."""
    return ",".join(short for mode, short in _ACCESS_MODES if mode in modes)


def _phase(obj: Mapping[str, Any]) -> str:
    if dig(obj, "metadata", "deletionTimestamp") is not None:
        return "Terminating"
    return text(obj, "status", "phase")


def _storage_class(obj: Mapping[str, Any]) -> str:
    annotations = mapping(obj, "metadata", "annotations")
    if _STORAGE_CLASS_ANNOTATION in annotations:
        return str(annotations[_STORAGE_CLASS_ANNOTATION])
    return text(obj, "spec", "storageClassName")


def _optional(obj: Mapping[str, Any], field: str) -> str:
    value = dig(obj, "spec", field)
    return UNSET if value is None else str(value)


def _persistent_volume(obj: Mapping[str, Any], now: float) -> list[Any]:
    spec = mapping(obj, "spec")
    claim = spec.get("claimRef")
    claim_name = f"{text(claim, 'namespace')}/{text(claim, 'name')}" if claim else ""
    return [
        name_of(obj), quantity(dig(spec, "capacity", "storage")),
        access_modes(items(spec, "accessModes")), text(spec, "persistentVolumeReclaimPolicy"),
        _phase(obj), claim_name, _storage_class(obj),
        _optional(obj, "volumeAttributesClassName"), text(obj, "status", "reason"),
        age(obj, now), _optional(obj, "volumeMode"),
    ]


def _persistent_volume_claim(obj: Mapping[str, Any], now: float) -> list[Any]:
    volume = text(obj, "spec", "volumeName")
    capacity = quantity(dig(obj, "status", "capacity", "storage")) if volume else ""
    modes = access_modes(items(obj, "status", "accessModes")) if volume else ""
    return [
        name_of(obj), _phase(obj), volume, capacity, modes, _storage_class(obj),
        _optional(obj, "volumeAttributesClassName"), age(obj, now),
        _optional(obj, "volumeMode"),
    ]


_RC_COLUMNS = (
    NAME,
    col("Desired", api("core.v1.ReplicationControllerSpec", "replicas"), type="integer"),
    col("Current", api("core.v1.ReplicationControllerStatus", "replicas"), type="integer"),
    col("Ready", api("core.v1.ReplicationControllerStatus", "readyReplicas"), type="integer"),
    AGE, CONTAINERS, IMAGES,
    col("Selector", api("core.v1.ReplicationControllerSpec", "selector"), priority=WIDE),
)
_PV_COLUMNS = (
    NAME,
    col("Capacity", api("core.v1.PersistentVolumeSpec", "capacity")),
    col("Access Modes", api("core.v1.PersistentVolumeSpec", "accessModes")),
    col("Reclaim Policy", api("core.v1.PersistentVolumeSpec", "persistentVolumeReclaimPolicy")),
    col("Status", api("core.v1.PersistentVolumeStatus", "phase")),
    col("Claim", api("core.v1.PersistentVolumeSpec", "claimRef")),
    col("StorageClass", "StorageClass of the pv"),
    col("VolumeAttributesClass", "VolumeAttributesClass of the pv"),
    col("Reason", api("core.v1.PersistentVolumeStatus", "reason")),
    AGE,
    col("VolumeMode", api("core.v1.PersistentVolumeSpec", "volumeMode"), priority=WIDE),
)
_PVC_COLUMNS = (
    NAME,
    col("Status", api("core.v1.PersistentVolumeClaimStatus", "phase")),
    col("Volume", api("core.v1.PersistentVolumeClaimSpec", "volumeName")),
    col("Capacity", api("core.v1.PersistentVolumeClaimStatus", "capacity")),
    col("Access Modes", api("core.v1.PersistentVolumeClaimStatus", "accessModes")),
    col("StorageClass", "StorageClass of the pvc"),
    col("VolumeAttributesClass", "VolumeAttributesClass of the pvc"),
    AGE,
    col("VolumeMode", api("core.v1.PersistentVolumeClaimSpec", "volumeMode"), priority=WIDE),
)

PRINTERS = {
    "Namespace": Printer(
        (NAME, col("Status", "The status of the namespace"), AGE), _namespace),
    "ConfigMap": Printer((NAME, col("Data", api("core.v1.ConfigMap", "data")), AGE), _config_map),
    "Secret": Printer(
        (NAME, col("Type", api("core.v1.Secret", "type")),
         col("Data", api("core.v1.Secret", "data")), AGE), _secret),
    "ServiceAccount": Printer(
        (NAME, col("Secrets", api("core.v1.ServiceAccount", "secrets")), AGE), _service_account),
    "ReplicationController": Printer(_RC_COLUMNS, _replication_controller),
    "PodTemplate": Printer(
        (NAME, col("Containers", "Names of each container in the template."),
         col("Images", "Images referenced by each container in the template."),
         col("Pod Labels", "The labels for the pod template.")), _pod_template),
    "ResourceQuota": Printer(
        (NAME,
         col("Request", "Request represents a minimum amount of cpu/memory that a container "
             "may consume."),
         col("Limit", "Limits control the maximum amount of cpu/memory that a container may "
             "use independent of contention on the node."),
         AGE), _resource_quota),
    "PersistentVolume": Printer(_PV_COLUMNS, _persistent_volume),
    "PersistentVolumeClaim": Printer(_PVC_COLUMNS, _persistent_volume_claim),
}
