"""Migrating from client-side to server-side apply (upstream ``lastapplied*.go``).

When ``kubectl`` (the manager name of ``kubectl apply --server-side``) applies to an object
that client-side apply managed, the fields recorded in the
``kubectl.kubernetes.io/last-applied-configuration`` annotation whose live values still
match it are its own in all but name: conflicts on them are allowed, and the apply is
forced. After such an apply the server keeps that annotation in step with the applied
configuration, so that a later client-side apply still computes correct patches.
"""

from __future__ import annotations

import json
from typing import Any

from steersman.api.ssa.fieldpath import FieldSet
from steersman.api.ssa.typeinfo import TypeNode
from steersman.api.ssa.walk import compare, field_set

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
KUBECTL_MANAGER = "kubectl"

Object = dict[str, Any]


def last_applied(obj: Object) -> str:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    value = annotations.get(LAST_APPLIED)
    return value if isinstance(value, str) else ""


def allowed_conflicts(live: Object, root: TypeNode) -> FieldSet:
    """Fields of the last-applied configuration whose live values still match it."""
    text = last_applied(live)
    if not text:
        return FieldSet()
    try:
        recorded = json.loads(text)
    except ValueError:
        return FieldSet()
    if not isinstance(recorded, dict) or recorded.get("apiVersion") != live.get("apiVersion"):
        return FieldSet()
    comparison = compare(recorded, live, root)
    return (field_set(recorded, root).difference(comparison.modified)
            .difference(comparison.added).difference(comparison.removed))


def build_last_applied(config: Object) -> str:
    """The annotation value for ``config``, encoded like Go's unstructured JSON encoder."""
    copied = json.loads(json.dumps(config))
    annotations = (copied.get("metadata") or {}).get("annotations")
    if isinstance(annotations, dict):
        annotations.pop(LAST_APPLIED, None)
    text = json.dumps(copied, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            + "\n")


def sync_last_applied(obj: Object, config: Object, manager: str) -> None:
    """Keep an existing annotation in step with what ``kubectl`` applied server-side."""
    if manager == KUBECTL_MANAGER and last_applied(obj):
        obj["metadata"]["annotations"][LAST_APPLIED] = build_last_applied(config)
