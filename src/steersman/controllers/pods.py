"""How controllers read a pod: readiness, termination, its controller and its address.

Small pure functions shared by the endpoint, disruption and node-lifecycle controllers,
following ``k8s.io/kubernetes/pkg/api/v1/pod`` (``IsPodReady``) and apimachinery's
``GetControllerOf``. Objects are the informers' read-only dicts; nothing here mutates one.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from steersman.api.meta import parse_time

Object = dict[str, Any]
TERMINAL_PHASES = ("Succeeded", "Failed")


def condition(obj: Object, kind: str) -> Object | None:
    """The ``status.conditions`` entry of type ``kind``, if any."""
    for entry in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(entry, dict) and entry.get("type") == kind:
            return entry
    return None


def is_ready(pod: Object) -> bool:
    """``IsPodReady``: the pod's Ready condition is True."""
    ready = condition(pod, "Ready")
    return ready is not None and ready.get("status") == "True"


def is_terminating(obj: Object) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def is_terminal(pod: Object) -> bool:
    return (pod.get("status") or {}).get("phase") in TERMINAL_PHASES


def controller_of(obj: Object) -> Object | None:
    """The ownerReference with ``controller: true``, if any."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller"):
            return ref
    return None


def ipv4_address(pod: Object) -> str:
    """The pod's IPv4 address from ``status.podIPs`` (or ``status.podIP``); ``""`` if none."""
    status = pod.get("status") or {}
    candidates = [str(entry.get("ip") or "") for entry in status.get("podIPs") or []
                  if isinstance(entry, dict)]
    candidates.append(str(status.get("podIP") or ""))
    for candidate in candidates:
        try:
            if ipaddress.ip_address(candidate).version == 4:
                return candidate
        except ValueError:
            continue
    return ""


def seconds(timestamp: str) -> float:
    """An RFC 3339 timestamp as seconds since the epoch (the clocks' unit)."""
    return parse_time(timestamp).timestamp()


def labels_of(obj: Object) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("labels") or {})
