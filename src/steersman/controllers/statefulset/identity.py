"""The stable identity of a StatefulSet's pods: names, ordinals, labels, storage.

Pod ``<set>-<i>`` has hostname ``<set>-<i>``, subdomain ``spec.serviceName``, the labels
``statefulset.kubernetes.io/pod-name`` and ``apps.kubernetes.io/pod-index`` and the
``controller-revision-hash`` of the revision it was made from, and for every
``volumeClaimTemplates`` entry ``<claim>`` a volume backed by the claim
``<claim>-<set>-<i>`` (``stateful_set_utils.go``). Pure functions.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from steersman.controllers.history import REVISION_HASH_LABEL
from steersman.controllers.podstate import controller_ref, name_of

Object = dict[str, Any]
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
_ORDINAL = re.compile(r"^(.*)-([0-9]+)$")


def ordinal_of(set_name: str, pod_name: str) -> int | None:
    """The ordinal in ``<set>-<i>``, or ``None`` when the name is not one of the set's."""
    match = _ORDINAL.match(pod_name)
    if match is None or match.group(1) != set_name:
        return None
    return int(match.group(2))


def claim_name(claim: str, set_name: str, ordinal: int) -> str:
    return f"{claim}-{set_name}-{ordinal}"


def namespace_of(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("namespace") or "")


def stateful_pod(sts: Mapping[str, Any], template: Mapping[str, Any], ordinal: int,
                 revision_hash: str) -> Object:
    """Pod ``ordinal`` of ``sts``, made from ``template`` (one revision's)."""
    set_name, name = name_of(sts), f"{name_of(sts)}-{ordinal}"
    template = copy.deepcopy(dict(template))
    template_meta = template.get("metadata") or {}
    labels = {**(template_meta.get("labels") or {}), POD_NAME_LABEL: name,
              POD_INDEX_LABEL: str(ordinal), REVISION_HASH_LABEL: revision_hash}
    metadata: Object = {"name": name, "namespace": namespace_of(sts), "labels": labels,
                        "ownerReferences": [controller_ref(sts)]}
    if template_meta.get("annotations"):
        metadata["annotations"] = template_meta["annotations"]
    spec = template.get("spec") or {}
    spec["hostname"] = name
    service = (sts.get("spec") or {}).get("serviceName")
    if service:
        spec["subdomain"] = service
    spec["volumes"] = _volumes(sts, spec.get("volumes") or [], set_name, ordinal)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


def _volumes(sts: Mapping[str, Any], volumes: list[Object], set_name: str, ordinal: int
             ) -> list[Object]:
    claims = {name_of(t): claim_name(name_of(t), set_name, ordinal)
              for t in (sts.get("spec") or {}).get("volumeClaimTemplates") or ()}
    kept = [v for v in volumes if v.get("name") not in claims]
    return kept + [{"name": volume, "persistentVolumeClaim": {"claimName": claim}}
                   for volume, claim in claims.items()]


def claims_for(sts: Mapping[str, Any], ordinal: int) -> list[Object]:
    """The PersistentVolumeClaims pod ``ordinal`` needs."""
    selector_labels = ((sts.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    claims = []
    for template in (sts.get("spec") or {}).get("volumeClaimTemplates") or ():
        template_meta = template.get("metadata") or {}
        claims.append({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": claim_name(name_of(template), name_of(sts), ordinal),
                         "namespace": namespace_of(sts),
                         "labels": {**(template_meta.get("labels") or {}), **selector_labels},
                         **({"annotations": template_meta["annotations"]}
                            if template_meta.get("annotations") else {})},
            "spec": copy.deepcopy(template.get("spec") or {}),
        })
    return claims


def revision_of(pod: Mapping[str, Any]) -> str:
    return str(((pod.get("metadata") or {}).get("labels") or {}).get(REVISION_HASH_LABEL, ""))
