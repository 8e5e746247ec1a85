"""Well-known names and pure helpers for PersistentVolumes, their claims and classes.

Shared by the API server (default class, admission), the controllers (binder, local-path
provisioner), the scheduler (VolumeBinding) and the node agent (mounting claims), which do
not import each other. Names are upstream's, so tools written for Kubernetes read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Object = Mapping[str, Any]

LOCAL_PATH_PROVISIONER = "steersman.io/local-path"
NO_PROVISIONER = "kubernetes.io/no-provisioner"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
BETA_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"
WAIT_FOR_FIRST_CONSUMER = "WaitForFirstConsumer"
HOSTNAME_LABEL = "kubernetes.io/hostname"
PVC_PROTECTION = "kubernetes.io/pvc-protection"


def annotations_of(obj: Object) -> Mapping[str, str]:
    return (obj.get("metadata") or {}).get("annotations") or {}


def claim_class(claim: Object) -> str:
    """The claim's class name ("" = none): the beta annotation first, as upstream's
    ``GetPersistentVolumeClaimClass``."""
    beta = annotations_of(claim).get(BETA_CLASS_ANNOTATION)
    if beta is not None:
        return str(beta)
    return str((claim.get("spec") or {}).get("storageClassName") or "")


def volume_class(volume: Object) -> str:
    beta = annotations_of(volume).get(BETA_CLASS_ANNOTATION)
    if beta is not None:
        return str(beta)
    return str((volume.get("spec") or {}).get("storageClassName") or "")


def claim_volume_names(pod: Object) -> list[tuple[str, str]]:
    """``(volume name, claim name)`` for each persistentVolumeClaim volume of a pod."""
    found: list[tuple[str, str]] = []
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        source = volume.get("persistentVolumeClaim")
        if isinstance(source, Mapping) and source.get("claimName"):
            found.append((str(volume.get("name")), str(source["claimName"])))
    return found


def is_bound(claim: Object) -> bool:
    return bool((claim.get("spec") or {}).get("volumeName"))


def claim_ref_matches(volume: Object, claim: Object) -> bool:
    """The volume's ``claimRef`` names this claim (and, when it carries a uid, this one)."""
    ref = (volume.get("spec") or {}).get("claimRef") or {}
    meta = claim.get("metadata") or {}
    if ref.get("name") != meta.get("name") or ref.get("namespace") != meta.get("namespace"):
        return False
    return not ref.get("uid") or ref.get("uid") == meta.get("uid")


def local_path(volume: Object) -> str:
    """The host directory of a hostPath or local volume ("" for any other kind)."""
    spec = volume.get("spec") or {}
    source = spec.get("hostPath") or spec.get("local") or {}
    return str(source.get("path") or "")
