"""The PersistentVolume the local-path provisioner makes for a claim, and what it refuses.

As rancher's local-path-provisioner does (upstream of k3s' ``local-path`` class): one
directory per volume, ``<root>/<volume name>``, on the node the scheduler picked for the
claim's first pod (``volume.kubernetes.io/selected-node``); the volume is a ``hostPath``
(``DirectoryOrCreate``) pinned to that node by ``spec.nodeAffinity`` on
``kubernetes.io/hostname``, pre-bound to the claim through ``claimRef``, sized by the
claim's request (not enforced: a directory has no quota) and with the class's reclaim
policy. Volumes are named ``pvc-<claim uid>``, as external provisioners name them, so a
retried provisioning finds the volume it already made.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from steersman.api.volumes import HOSTNAME_LABEL, LOCAL_PATH_PROVISIONER, PROVISIONED_BY
from steersman.controllers.volume.binding import claim_ref

Object = dict[str, Any]
SUPPORTED_ACCESS_MODES = ("ReadWriteOnce", "ReadWriteOncePod")


def volume_name(claim: Mapping[str, Any]) -> str:
    return f"pvc-{(claim.get('metadata') or {}).get('uid')}"


def refusal(claim: Mapping[str, Any]) -> str:
    """Why this provisioner cannot serve the claim ("" when it can)."""
    spec = claim.get("spec") or {}
    if spec.get("selector"):
        return "claim Selector is not supported"
    if (spec.get("volumeMode") or "Filesystem") != "Filesystem":
        return "the local-path provisioner serves only volumeMode Filesystem"
    unsupported = sorted(set(spec.get("accessModes") or []) - set(SUPPORTED_ACCESS_MODES))
    if unsupported:
        return (f"access mode(s) {', '.join(unsupported)} not supported: a local-path volume "
                f"lives on one node (ReadWriteOnce, ReadWriteOncePod)")
    if not ((spec.get("resources") or {}).get("requests") or {}).get("storage"):
        return "the claim requests no storage"
    return ""


def provisioned_volume(claim: Mapping[str, Any], storage_class: Mapping[str, Any], *,
                       node: str, root: Path) -> Object:
    spec = claim.get("spec") or {}
    name = volume_name(claim)
    return {
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": name, "annotations": {PROVISIONED_BY: LOCAL_PATH_PROVISIONER}},
        "spec": {
            "capacity": {"storage": spec["resources"]["requests"]["storage"]},
            "accessModes": list(spec.get("accessModes") or []),
            "persistentVolumeReclaimPolicy": storage_class.get("reclaimPolicy") or "Delete",
            "storageClassName": (storage_class.get("metadata") or {}).get("name"),
            "volumeMode": "Filesystem",
            "hostPath": {"path": str(root / name), "type": "DirectoryOrCreate"},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": HOSTNAME_LABEL, "operator": "In", "values": [node]}]}]}},
            "claimRef": claim_ref(claim),
        },
    }


def owned_directory(volume: Mapping[str, Any], root: Path) -> Path | None:
    """The volume's directory when it is one of ours directly under ``root``."""
    notes = (volume.get("metadata") or {}).get("annotations") or {}
    if notes.get(PROVISIONED_BY) != LOCAL_PATH_PROVISIONER:
        return None
    path = Path(str(((volume.get("spec") or {}).get("hostPath") or {}).get("path") or ""))
    name = str((volume.get("metadata") or {}).get("name") or "")
    if not name or path != root / name:
        return None
    return path


def make_directory(path: Path) -> None:
    """The volume's directory, writable by every uid (containers run as any user)."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o777)
