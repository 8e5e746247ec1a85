"""What workload controllers read off pods and owners: phase, readiness, ownership.

Pure functions over JSON-shaped objects, as ``k8s.io/kubernetes/pkg/api/v1/pod`` (``IsPodReady``,
``IsPodAvailable``) and ``metav1.GetControllerOf`` answer them. Neighbours: the DaemonSet,
StatefulSet and Job controllers, which decide with these and write through the client.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steersman.api.meta import parse_time
from steersman.client import OWNER_UID_INDEX, Informer

Object = dict[str, Any]
TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})


def meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    value = obj.get("metadata")
    return value if isinstance(value, Mapping) else {}


def uid_of(obj: Mapping[str, Any]) -> str:
    return str(meta(obj).get("uid") or "")


def name_of(obj: Mapping[str, Any]) -> str:
    return str(meta(obj).get("name") or "")


def phase(pod: Mapping[str, Any]) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def is_terminal(pod: Mapping[str, Any]) -> bool:
    return phase(pod) in TERMINAL_PHASES


def is_terminating(obj: Mapping[str, Any]) -> bool:
    return meta(obj).get("deletionTimestamp") is not None


def is_active(pod: Mapping[str, Any]) -> bool:
    """Neither finished nor on its way out."""
    return not is_terminal(pod) and not is_terminating(pod)


def ready_condition(pod: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for condition in (pod.get("status") or {}).get("conditions") or ():
        if condition.get("type") == "Ready":
            return condition  # type: ignore[no-any-return]
    return None


def is_ready(pod: Mapping[str, Any]) -> bool:
    condition = ready_condition(pod)
    return condition is not None and condition.get("status") == "True"


def is_running_and_ready(pod: Mapping[str, Any]) -> bool:
    return phase(pod) == "Running" and is_ready(pod)


def is_available(pod: Mapping[str, Any], min_ready_seconds: int, now: float) -> bool:
    """Ready for at least ``min_ready_seconds`` (``podutil.IsPodAvailable``)."""
    if not is_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    return ready_for(pod, now) >= min_ready_seconds


def ready_for(pod: Mapping[str, Any], now: float) -> float:
    """Seconds since the Ready condition last turned True (0 when unknown)."""
    condition = ready_condition(pod) or {}
    since = condition.get("lastTransitionTime")
    if not since:
        return 0.0
    return max(now - parse_time(str(since)).timestamp(), 0.0)


def created_at(obj: Mapping[str, Any]) -> float:
    text = meta(obj).get("creationTimestamp")
    return parse_time(str(text)).timestamp() if text else 0.0


def controller_of(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The ownerReference with ``controller: true``, if any."""
    for ref in meta(obj).get("ownerReferences") or ():
        if ref.get("controller") is True:
            return ref  # type: ignore[no-any-return]
    return None


def controlled_by(obj: Mapping[str, Any], owner: Mapping[str, Any]) -> bool:
    ref = controller_of(obj)
    return ref is not None and ref.get("uid") == uid_of(owner)


def controller_ref(owner: Mapping[str, Any]) -> Object:
    """The ownerReference a controller puts on what it creates."""
    return {"apiVersion": owner.get("apiVersion", ""), "kind": owner.get("kind", ""),
            "name": name_of(owner), "uid": uid_of(owner), "controller": True,
            "blockOwnerDeletion": True}


def condition(obj: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    for cond in (obj.get("status") or {}).get("conditions") or ():
        if cond.get("type") == kind:
            return cond  # type: ignore[no-any-return]
    return None


def condition_true(obj: Mapping[str, Any], kind: str) -> bool:
    cond = condition(obj, kind)
    return cond is not None and cond.get("status") == "True"


def seconds_until_available(pods: list[Object], min_ready_seconds: int, now: float
                            ) -> float | None:
    """When the next ready-but-not-yet-available pod becomes available (``None``: none)."""
    if min_ready_seconds <= 0:
        return None
    waits = [min_ready_seconds - ready_for(p, now) for p in pods
             if is_ready(p) and not is_terminating(p)]
    pending = [w for w in waits if w > 0]
    return min(pending) + 0.1 if pending else None


def owned_by_kind(obj: Mapping[str, Any], kind: str) -> str:
    """The name of ``obj``'s controller when it is a ``kind``, else ``""``."""
    ref = controller_of(obj)
    if ref is None or ref.get("kind") != kind:
        return ""
    return str(ref.get("name") or "")


def owned(informer: Informer, owner: Mapping[str, Any]) -> list[Object]:
    """The cached objects ``owner`` controls (the informer needs the owner-uid index)."""
    return [obj for obj in informer.indexer.by_index(OWNER_UID_INDEX, uid_of(owner))
            if controlled_by(obj, owner)]
