"""Custom resources: the resources a CustomResourceDefinition makes the API serve.

:func:`resource_infos` turns a stored CRD into one :class:`ResourceInfo` per served version,
in kube's version priority order (the first is the preferred version). Every version shares
one storage prefix; ``info.crd`` carries what the API server needs per version:

``{"name": <crd name>, "schema": <openAPIV3Schema>, "printerColumns": [...],
"status": <status subresource on>, "scale": <scale subresource or None>,
"preserveUnknown": <spec.preserveUnknownFields>, "storageVersion": <version name>}``

:class:`CustomResourceStrategy` is the Strategy of such a resource (pruning, defaulting and
schema validation from :mod:`steersman.api.crschema`); :func:`served_object` is the read
path: an object stored under any version, defaulted and pruned, as the requested version
(conversion strategy ``None`` only rewrites ``apiVersion``). :func:`scale_of_custom` and
:func:`set_custom_replicas` are the ``/scale`` subresource on the CRD's JSON paths.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from steersman.api import crschema
from steersman.api.errors import FieldError
from steersman.api.meta import is_dns1123_subdomain
from steersman.api.resources import ResourceInfo, Subresource, scale, status_of
from steersman.api.strategies._base import validate_object_meta

Object = dict[str, Any]
_KUBE_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


class CustomResourceStrategy:
    """Defaulting and validation of one custom resource version, from its ``info.crd``."""

    def __init__(self, crd: Mapping[str, Any]) -> None:
        schema = crd.get("schema")
        self._schema: Mapping[str, Any] | None = schema if isinstance(schema, Mapping) else None
        self._prune = not crd.get("preserveUnknown")

    def prepare_update(self, new: Object, old: Object) -> None:
        return None

    def default(self, obj: Object) -> None:
        if self._schema is None:
            return
        crschema.prune_nulls(obj, self._schema)
        crschema.apply_defaults(obj, self._schema)
        if self._prune:
            crschema.prune(obj, self._schema)

    def validate(self, obj: Object) -> list[FieldError]:
        errs = validate_object_meta(obj, is_dns1123_subdomain)
        if self._schema is not None:
            errs += crschema.validate(obj, self._schema)
        return errs

    def validate_update(self, new: Object, old: Object) -> list[FieldError]:
        return []


def served_object(info: ResourceInfo, obj: Object) -> Object:
    """``obj`` as ``info``'s version serves it; the stored object itself when nothing changes.

    Stored objects are shared (the watch cache's), so any change is made on a copy.
    """
    if info.crd is None:
        return obj
    out = copy.deepcopy(obj)
    CustomResourceStrategy(info.crd).default(out)
    out["apiVersion"] = info.api_version
    return obj if out == obj else out


# --- CRD -> served resources ---------------------------------------------------------------


def crd_spec(crd: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = crd.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def storage_version(crd: Mapping[str, Any]) -> str:
    for version in crd_spec(crd).get("versions") or ():
        if version.get("storage"):
            return str(version.get("name", ""))
    return ""


def resource_infos(crd: Mapping[str, Any], *, served_only: bool = True) -> list[ResourceInfo]:
    """One ResourceInfo per served version of a (valid, defaulted) CRD, preferred first
    (with ``served_only=False``, one per version: they share one storage prefix)."""
    spec = crd_spec(crd)
    served = [v for v in spec.get("versions") or () if v.get("served") or not served_only]
    served.sort(key=lambda v: version_priority(str(v.get("name", ""))))
    return [_info(crd, spec, version) for version in served]


def _info(crd: Mapping[str, Any], spec: Mapping[str, Any],
          version: Mapping[str, Any]) -> ResourceInfo:
    names = spec.get("names") or {}
    kind = str(names.get("kind", ""))
    subs = version.get("subresources") or {}
    subresources: list[Subresource] = []
    if "status" in subs:
        subresources.append(status_of(kind))
    if "scale" in subs:
        subresources.append(scale())
    return ResourceInfo(
        group=str(spec.get("group", "")), version=str(version.get("name", "")), kind=kind,
        plural=str(names.get("plural", "")), singular=str(names.get("singular", "")),
        namespaced=spec.get("scope") == "Namespaced",
        short_names=tuple(names.get("shortNames") or ()),
        categories=tuple(names.get("categories") or ()),
        subresources=tuple(subresources), list_kind=str(names.get("listKind", "")),
        crd=_crd_extras(crd, spec, version))


def _crd_extras(crd: Mapping[str, Any], spec: Mapping[str, Any],
                version: Mapping[str, Any]) -> dict[str, Any]:
    subs = version.get("subresources") or {}
    return {
        "name": str((crd.get("metadata") or {}).get("name", "")),
        "schema": (version.get("schema") or {}).get("openAPIV3Schema"),
        "printerColumns": list(version.get("additionalPrinterColumns") or ()),
        "status": "status" in subs,
        "scale": subs.get("scale"),
        "preserveUnknown": bool(spec.get("preserveUnknownFields")),
        "storageVersion": storage_version(crd),
    }


def version_priority(version: str) -> tuple[int, int, int, int, str]:
    """Sort key of kube's version priority: v10 > v2 > v1 > v2beta1 > v1beta2 > v1alpha1 >
    anything else (alphabetically)."""
    match = _KUBE_VERSION.match(version)
    if match is None:
        return (1, 0, 0, 0, version)
    major, stage, minor = match.groups()
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (0, rank, -int(major), -int(minor or 0), "")


# --- /scale -------------------------------------------------------------------------------


def _steps(path: str) -> list[str]:
    return [step for step in path.split(".") if step]


def _lookup(obj: Any, path: str) -> Any:
    for step in _steps(path):
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(step)
    return obj


def scale_of_custom(obj: Object, paths: Mapping[str, Any]) -> Object:
    """The ``autoscaling/v1 Scale`` of a custom resource, read through the CRD's paths."""
    meta = obj["metadata"]
    spec_replicas = _lookup(obj, str(paths.get("specReplicasPath", "")))
    status_replicas = _lookup(obj, str(paths.get("statusReplicasPath", "")))
    selector = _lookup(obj, str(paths.get("labelSelectorPath") or ""))
    return {
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                           "creationTimestamp") if k in meta},
        "spec": {"replicas": spec_replicas if isinstance(spec_replicas, int) else 0},
        "status": {"replicas": status_replicas if isinstance(status_replicas, int) else 0,
                   "selector": selector if isinstance(selector, str) else ""},
    }


def set_custom_replicas(obj: Object, paths: Mapping[str, Any], replicas: int) -> None:
    """Write ``replicas`` at the CRD's ``specReplicasPath``, creating objects on the way."""
    steps = _steps(str(paths.get("specReplicasPath", "")))
    target = obj
    for step in steps[:-1]:
        child = target.get(step)
        if not isinstance(child, dict):
            child = target[step] = {}
        target = child
    target[steps[-1]] = replicas
