"""What binding a claim to a volume writes, and which volume a claim may take: pure.

Upstream ``pkg/controller/volume/persistentvolume`` (``pv_controller.go``) for the cases
steersman serves:

* a volume whose ``claimRef`` already names the claim (the local-path provisioner creates
  volumes that way, and users may pre-bind) is bound to it;
* otherwise, for a claim whose class does not wait for its first consumer, the smallest
  Available volume of the same class, volume mode and at least the requested size whose
  access modes include the claim's is taken (``findBestMatchForClaim`` without selectors);
  a claim with a ``spec.selector`` is left Pending with an event, since selectors are not
  matched here;
* binding writes the volume's ``claimRef`` (with the claim's uid) and phase ``Bound``, then
  the claim's ``spec.volumeName``, the ``bind-completed``/``bound-by-controller``
  annotations, and its status ``Bound`` with the volume's capacity and access modes.

A bound volume whose claim is gone (or replaced: another uid) is ``Released``; what happens
next is its reclaim policy's: Retain keeps it, Delete is the provisioner's job.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

from steersman.api.quantity import QuantityError, parse_quantity
from steersman.api.volumes import (
    BIND_COMPLETED,
    BOUND_BY_CONTROLLER,
    claim_class,
    claim_ref_matches,
    volume_class,
)

Object = dict[str, Any]


def claim_ref(claim: Mapping[str, Any]) -> Object:
    meta = claim.get("metadata") or {}
    return {"kind": "PersistentVolumeClaim", "apiVersion": "v1",
            "namespace": meta.get("namespace"), "name": meta.get("name"),
            "uid": meta.get("uid"), "resourceVersion": meta.get("resourceVersion")}


def volume_with_claim_ref(volume: Mapping[str, Any], claim: Mapping[str, Any]) -> Object | None:
    """The volume with a ``claimRef`` carrying the claim's uid; ``None`` when it has one."""
    ref = (volume.get("spec") or {}).get("claimRef") or {}
    if ref.get("uid") == (claim.get("metadata") or {}).get("uid"):
        return None
    updated = copy.deepcopy(dict(volume))
    if not ref:
        updated["metadata"].setdefault("annotations", {})[BOUND_BY_CONTROLLER] = "yes"
    updated["spec"]["claimRef"] = claim_ref(claim)
    return updated


def claim_with_volume(claim: Mapping[str, Any], volume_name: str) -> Object | None:
    """The claim naming its volume and marked bind-completed; ``None`` when it is."""
    spec = claim.get("spec") or {}
    notes = (claim.get("metadata") or {}).get("annotations") or {}
    if spec.get("volumeName") == volume_name and notes.get(BIND_COMPLETED) == "yes":
        return None
    updated = copy.deepcopy(dict(claim))
    annotations = updated["metadata"].setdefault("annotations", {})
    if not spec.get("volumeName"):
        annotations[BOUND_BY_CONTROLLER] = "yes"
        updated["spec"]["volumeName"] = volume_name
    annotations[BIND_COMPLETED] = "yes"
    return updated


def bound_claim_status(volume: Mapping[str, Any]) -> Object:
    spec = volume.get("spec") or {}
    return {"phase": "Bound", "accessModes": list(spec.get("accessModes") or []),
            "capacity": dict(spec.get("capacity") or {})}


def volume_phase(volume: Mapping[str, Any], claim: Mapping[str, Any] | None) -> str:
    """The phase a volume should show, given the claim its ``claimRef`` names (if found)."""
    ref = (volume.get("spec") or {}).get("claimRef")
    if not ref:
        return "Available"
    if claim is None or not claim_ref_matches(volume, claim):
        return "Released" if ref.get("uid") else "Available"
    name = (volume.get("metadata") or {}).get("name")
    return "Bound" if (claim.get("spec") or {}).get("volumeName") == name else "Available"


def best_match(claim: Mapping[str, Any], volumes: Iterable[Mapping[str, Any]]
               ) -> Mapping[str, Any] | None:
    """The smallest Available volume this claim may take (see the module docstring)."""
    wanted = _size((claim.get("spec") or {}).get("resources", {}).get("requests", {}))
    if wanted is None:
        return None
    fitting = [(size, v) for v in volumes
               if _may_take(claim, v) and (size := _size(_capacity(v))) is not None
               and size >= wanted]
    if not fitting:
        return None
    return min(fitting, key=lambda pair: (pair[0], str(pair[1]["metadata"]["name"])))[1]


def _may_take(claim: Mapping[str, Any], volume: Mapping[str, Any]) -> bool:
    spec, claim_spec = volume.get("spec") or {}, claim.get("spec") or {}
    if spec.get("claimRef") or (volume.get("metadata") or {}).get("deletionTimestamp"):
        return False
    if (volume.get("status") or {}).get("phase") not in (None, "", "Available", "Pending"):
        return False
    if volume_class(volume) != claim_class(claim):
        return False
    if (spec.get("volumeMode") or "Filesystem") != (claim_spec.get("volumeMode")
                                                   or "Filesystem"):
        return False
    return set(claim_spec.get("accessModes") or []) <= set(spec.get("accessModes") or [])


def _capacity(volume: Mapping[str, Any]) -> Mapping[str, Any]:
    return (volume.get("spec") or {}).get("capacity") or {}


def _size(resources: Mapping[str, Any]) -> Fraction | None:
    try:
        return parse_quantity(resources["storage"])
    except (KeyError, QuantityError, TypeError):
        return None
