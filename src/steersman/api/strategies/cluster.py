"""Cluster-level and storage kinds: Namespace, Node, PersistentVolume(Claim), ResourceQuota,
LimitRange, PriorityClass, Lease and Event.

Defaults follow kubernetes/kubernetes ``pkg/apis/core/v1/defaults.go`` and the namespace
registry (``spec.finalizers: [kubernetes]``, ``status.phase: Active``, the
``kubernetes.io/metadata.name`` label). Node status belongs to the node agent; only
``allocatable`` defaults to ``capacity``. Validation covers the fields users write.
"""

from __future__ import annotations

import copy
from typing import Any

from steersman.api.errors import FieldError, forbidden, invalid, not_supported, required
from steersman.api.strategies._base import KindStrategy, ensure, items, mapping
from steersman.api.strategies._fields import (
    check,
    immutable,
    is_cidr,
    is_dns1123_label,
    is_qualified_name,
    nonnegative,
    one_of,
    positive,
)
from steersman.api.strategies._resources import validate_resource_list
from steersman.api.strategies._tolerations import validate_taints
from steersman.api.strategies.pods import set_default
from steersman.api.strategies.quantities import canonicalize_quantities, number_quantity
from steersman.api.strategy import Object

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
ACCESS_MODES = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"]
RECLAIM_POLICIES = ["Delete", "Recycle", "Retain"]
LIMIT_TYPES = ["Container", "Pod", "PersistentVolumeClaim"]
PVC_UPDATE_FORBIDDEN = ("spec is immutable after creation except resources.requests and "
                        "volumeAttributesClassName for bound claims")
_PV_SOURCES = ("hostPath", "local", "nfs", "csi", "iscsi", "fc", "rbd", "cephfs", "cinder",
               "flexVolume", "azureFile", "azureDisk", "gcePersistentDisk",
               "awsElasticBlockStore", "glusterfs", "vsphereVolume", "portworxVolume",
               "quobyte", "scaleIO", "storageos", "flocker", "photonPersistentDisk")
_MAX_USER_PRIORITY = 1_000_000_000


class QuantityKindStrategy(KindStrategy):
    """Kinds whose only defaulting is turning numeric quantities into strings."""

    def default(self, obj: Object) -> None:
        canonicalize_quantities(obj, number_quantity)


class NamespaceStrategy(KindStrategy):
    def check_name(self, name: str) -> list[str]:
        return is_dns1123_label(name)

    def default(self, obj: Object) -> None:
        meta = ensure(obj, "metadata")
        if meta.get("name"):
            ensure(meta, "labels")[NAMESPACE_NAME_LABEL] = meta["name"]
        spec = ensure(obj, "spec")
        if spec.get("finalizers") is None:
            spec["finalizers"] = ["kubernetes"]
        set_default(ensure(obj, "status"), "phase", "Active")

    def validate_spec(self, obj: Object) -> list[FieldError]:
        errs: list[FieldError] = []
        for i, name in enumerate(items(mapping(obj, "spec"), "finalizers")):
            if name != "kubernetes" and "/" not in str(name):
                errs.append(invalid(f"spec.finalizers[{i}]", name, "name is neither a standard "
                                    "finalizer name nor is it fully qualified"))
            elif name != "kubernetes":
                errs += check(f"spec.finalizers[{i}]", name, is_qualified_name)
        phase = mapping(obj, "status").get("phase")
        return errs + one_of("status.phase", phase, ["Active", "Terminating"], required_=False)


class NodeStrategy(QuantityKindStrategy):
    def default(self, obj: Object) -> None:
        status = mapping(obj, "status")
        if status.get("capacity") and not status.get("allocatable"):
            status["allocatable"] = copy.deepcopy(status["capacity"])
        super().default(obj)

    def validate_spec(self, obj: Object) -> list[FieldError]:
        spec = mapping(obj, "spec")
        errs = validate_taints(items(spec, "taints"), "spec.taints")
        cidrs = [spec["podCIDR"]] if spec.get("podCIDR") else []
        for i, cidr in enumerate(items(spec, "podCIDRs") or cidrs):
            if not isinstance(cidr, str) or not is_cidr(cidr):
                path = f"spec.podCIDRs[{i}]" if spec.get("podCIDRs") else "spec.podCIDR"
                errs.append(invalid(path, cidr, "must be a valid CIDR"))
        status = mapping(obj, "status")
        for key in ("capacity", "allocatable"):
            errs += validate_resource_list(status.get(key), f"status.{key}")[1]
        return errs


class PersistentVolumeStrategy(QuantityKindStrategy):
    def default(self, obj: Object) -> None:
        spec = ensure(obj, "spec")
        set_default(spec, "persistentVolumeReclaimPolicy", "Retain")
        set_default(spec, "volumeMode", "Filesystem")
        set_default(ensure(obj, "status"), "phase", "Pending")
        super().default(obj)

    def validate_spec(self, obj: Object) -> list[FieldError]:
        spec = mapping(obj, "spec")
        errs = _validate_access_modes(spec)
        capacity = spec.get("capacity")
        if not capacity:
            errs.append(required("spec.capacity"))
        elif not isinstance(capacity, dict) or set(capacity) != {"storage"}:
            errs.append(not_supported("spec.capacity", ", ".join(capacity), ["storage"]))
        else:
            errs += validate_resource_list(capacity, "spec.capacity")[1]
        errs += one_of("spec.persistentVolumeReclaimPolicy",
                       spec.get("persistentVolumeReclaimPolicy"), RECLAIM_POLICIES)
        sources = [s for s in _PV_SOURCES if spec.get(s) is not None]
        if not sources:
            errs.append(required("spec", "must specify a volume type"))
        errs += [forbidden(f"spec.{s}", "may not specify more than 1 volume type")
                 for s in sources[1:]]
        return errs


def _validate_access_modes(spec: dict[str, Any]) -> list[FieldError]:
    modes = items(spec, "accessModes")
    if not modes:
        return [required("spec.accessModes")]
    return [not_supported("spec.accessModes", m, ACCESS_MODES)
            for m in modes if m not in ACCESS_MODES]


class PersistentVolumeClaimStrategy(QuantityKindStrategy):
    def default(self, obj: Object) -> None:
        set_default(ensure(obj, "spec"), "volumeMode", "Filesystem")
        set_default(ensure(obj, "status"), "phase", "Pending")
        super().default(obj)

    def validate_spec(self, obj: Object) -> list[FieldError]:
        spec = mapping(obj, "spec")
        errs = _validate_access_modes(spec)
        resources = mapping(spec, "resources")
        requests = resources.get("requests") or {}
        if "storage" not in requests:
            errs.append(required("spec.resources[storage]"))
        errs += validate_resource_list(requests, "spec.resources.requests")[1]
        return errs

    def validate_update(self, new: Object, old: Object) -> list[FieldError]:
        new_spec = copy.deepcopy(mapping(new, "spec"))
        old_spec = copy.deepcopy(mapping(old, "spec"))
        for spec in (new_spec, old_spec):
            mapping(spec, "resources").pop("requests", None)
            spec.pop("volumeAttributesClassName", None)
            if not old_spec.get("volumeName"):
                spec.pop("volumeName", None)
        return [] if new_spec == old_spec else [forbidden("spec", PVC_UPDATE_FORBIDDEN)]


class ResourceQuotaStrategy(QuantityKindStrategy):
    def validate_spec(self, obj: Object) -> list[FieldError]:
        errs = validate_resource_list(mapping(obj, "spec").get("hard"), "spec.hard")[1]
        status = mapping(obj, "status")
        for key in ("hard", "used"):
            errs += validate_resource_list(status.get(key), f"status.{key}")[1]
        return errs


class LimitRangeStrategy(QuantityKindStrategy):
    def default(self, obj: Object) -> None:
        for item in items(mapping(obj, "spec"), "limits"):
            if isinstance(item, dict) and item.get("type") == "Container":
                _default_container_limits(item)
        super().default(obj)

    def validate_spec(self, obj: Object) -> list[FieldError]:
        errs: list[FieldError] = []
        for i, item in enumerate(items(mapping(obj, "spec"), "limits")):
            at = f"spec.limits[{i}]"
            item = item if isinstance(item, dict) else {}
            errs += one_of(f"{at}.type", item.get("type"), LIMIT_TYPES)
            for key in ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio"):
                errs += validate_resource_list(item.get(key), f"{at}.{key}")[1]
        return errs


def _default_container_limits(item: dict[str, Any]) -> None:
    default = dict(item.get("default") or {})
    request = dict(item.get("defaultRequest") or {})
    for key, value in (item.get("max") or {}).items():
        default.setdefault(key, value)
    for source in (default, item.get("min") or {}):
        for key, value in source.items():
            request.setdefault(key, value)
    if default:
        item["default"] = default
    if request:
        item["defaultRequest"] = request


class PriorityClassStrategy(KindStrategy):
    def default(self, obj: Object) -> None:
        set_default(obj, "preemptionPolicy", "PreemptLowerPriority")

    def validate_spec(self, obj: Object) -> list[FieldError]:
        name = str(mapping(obj, "metadata").get("name", ""))
        value = obj.get("value")
        errs: list[FieldError] = []
        if name.startswith("system-"):
            if name not in ("system-cluster-critical", "system-node-critical"):
                errs.append(forbidden("metadata.name",
                                      "priority class names with 'system-' prefix are reserved"))
        elif isinstance(value, int) and value > _MAX_USER_PRIORITY:
            errs.append(forbidden("value", "maximum allowed value of a user defined priority "
                                           f"is {_MAX_USER_PRIORITY}"))
        if not isinstance(value, int) or isinstance(value, bool):
            errs.append(required("value"))
        return errs + one_of("preemptionPolicy", obj.get("preemptionPolicy"),
                             ["Never", "PreemptLowerPriority"], required_=False)

    def validate_update(self, new: Object, old: Object) -> list[FieldError]:
        errs: list[FieldError] = []
        if new.get("value") != old.get("value"):
            errs.append(forbidden("value", "may not be changed in an update."))
        return errs + immutable("preemptionPolicy", new.get("preemptionPolicy"),
                                old.get("preemptionPolicy"))


class LeaseStrategy(KindStrategy):
    def validate_spec(self, obj: Object) -> list[FieldError]:
        spec = mapping(obj, "spec")
        errs = positive("spec.leaseDurationSeconds", spec.get("leaseDurationSeconds"))
        errs += nonnegative("spec.leaseTransitions", spec.get("leaseTransitions"))
        strategy = spec.get("strategy")
        if strategy is not None:
            errs += check("spec.strategy", strategy, is_qualified_name)
        if spec.get("preferredHolder") and not strategy:
            errs.append(forbidden("spec.preferredHolder",
                                  "may only be specified if `strategy` is defined"))
        return errs


class EventStrategy(KindStrategy):
    """core/v1 and events.k8s.io/v1 Events: the involved object's namespace must match."""

    def validate_spec(self, obj: Object) -> list[FieldError]:
        namespace = mapping(obj, "metadata").get("namespace")
        involved_key = "involvedObject" if "involvedObject" in obj else "regarding"
        involved = mapping(obj, involved_key)
        errs: list[FieldError] = []
        theirs = involved.get("namespace")
        if namespace and theirs and theirs != namespace:
            errs.append(invalid(f"{involved_key}.namespace", theirs,
                                "does not match event.namespace"))
        if involved_key == "regarding":
            errs += one_of("type", obj.get("type"), ["Normal", "Warning"], required_=False)
        return errs
