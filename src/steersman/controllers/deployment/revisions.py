"""Revision bookkeeping in annotations, as ``kubectl rollout history/undo`` reads it.

kubernetes ``deploymentutil``: every ReplicaSet of a Deployment carries
``deployment.kubernetes.io/revision``; the new one gets the highest old revision + 1 (a
rollback bumps the reused ReplicaSet's revision and keeps its earlier numbers in
``revision-history``, at most 2000 characters). ``desired-replicas`` and ``max-replicas``
record the Deployment's size (and size + surge) when the ReplicaSet was last scaled, which
proportional scaling reads. The Deployment's own annotations (other than these and
kubectl's last-applied configuration) are copied onto its new ReplicaSet.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from steersman.controllers.deployment.fenceposts import desired_replicas, max_surge

Object = dict[str, Any]
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
ROLLBACK_TO = "deprecated.deployment.rollback.to"
MAX_REVISION_HISTORY_CHARS = 2000
_NOT_COPIED = frozenset({REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS,
                         LAST_APPLIED, ROLLBACK_TO})


def annotations_of(obj: Object) -> dict[str, str]:
    annotations = (obj.get("metadata") or {}).get("annotations")
    return annotations if isinstance(annotations, dict) else {}


def _mutable_annotations(obj: Object) -> dict[str, str]:
    meta = obj.setdefault("metadata", {})
    annotations = meta.get("annotations")
    if not isinstance(annotations, dict):
        meta["annotations"] = annotations = {}
    return annotations


def revision_of(obj: Object) -> int:
    try:
        return int(annotations_of(obj).get(REVISION, "0"))
    except ValueError:
        return 0


def max_revision(rss: Iterable[Object]) -> int:
    return max((revision_of(rs) for rs in rss), default=0)


def int_annotation(obj: Object, key: str) -> int | None:
    try:
        return int(annotations_of(obj)[key])
    except (KeyError, ValueError):
        return None


def copy_deployment_annotations(deployment: Object, rs: Object) -> bool:
    """Copy the Deployment's own annotations onto ``rs``; whether anything changed."""
    target, changed = _mutable_annotations(rs), False
    for key, value in annotations_of(deployment).items():
        if key not in _NOT_COPIED and target.get(key) != value:
            target[key] = value
            changed = True
    return changed


def set_replicas_annotations(rs: Object, desired: int, max_replicas: int) -> bool:
    annotations = _mutable_annotations(rs)
    wanted = {DESIRED_REPLICAS: str(desired), MAX_REPLICAS: str(max_replicas)}
    if all(annotations.get(k) == v for k, v in wanted.items()):
        return False
    annotations.update(wanted)
    return True


def replicas_annotations_need_update(rs: Object, desired: int, max_replicas: int) -> bool:
    annotations = annotations_of(rs)
    return (annotations.get(DESIRED_REPLICAS) != str(desired)
            or annotations.get(MAX_REPLICAS) != str(max_replicas))


def deployment_size_annotations(deployment: Object) -> tuple[int, int]:
    desired = desired_replicas(deployment)
    return desired, desired + max_surge(deployment)


def set_new_rs_annotations(deployment: Object, rs: Object, new_revision: int, *,
                           exists: bool) -> bool:
    """``SetNewReplicaSetAnnotations``: copy, bump the revision, keep its history."""
    changed = copy_deployment_annotations(deployment, rs)
    annotations = _mutable_annotations(rs)
    old_text = annotations.get(REVISION)
    try:
        old_revision = int(old_text) if old_text is not None else 0
    except ValueError:
        return changed
    if old_revision < new_revision:
        annotations[REVISION] = str(new_revision)
        changed = True
        if old_text is not None:
            _append_history(annotations, old_text)
    if not exists and set_replicas_annotations(rs, *deployment_size_annotations(deployment)):
        changed = True
    return changed


def _append_history(annotations: dict[str, str], old_revision: str) -> None:
    history = [r for r in annotations.get(REVISION_HISTORY, "").split(",") if r]
    history.append(old_revision)
    while history and len(",".join(history)) > MAX_REVISION_HISTORY_CHARS:
        history.pop(0)
    annotations[REVISION_HISTORY] = ",".join(history)
