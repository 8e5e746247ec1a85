"""Pure builders for the pod status a hollow node writes, and the decision of what to do.

A pod bound to a hollow node goes from Pending to Running in **one** status write
(kwok's ``pod-ready`` stage): phase, host and pod IPs, ``startTime``, the five conditions
(PodReadyToStartContainers, Initialized, ContainersReady, Ready, PodScheduled), a running
status per container and a terminated (``Completed``) status per init container — sidecar
init containers (``restartPolicy: Always``) run like containers.

Completion, for Job tests: a pod whose ``restartPolicy`` is ``Never`` or ``OnFailure`` and
that carries the annotation ``hollow.steersman.io/complete-after: "<seconds>"`` goes
``Succeeded`` that many seconds after it started; its containers end with exit code 0.

Image IDs and container IDs are fake but stable: ``docker-pullable://<repo>@sha256:<sha256
of the image reference>`` and ``hollow://<pod uid>/<container name>``.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from typing import Any

from steersman.api.meta import parse_time

Object = dict[str, Any]

COMPLETE_AFTER_ANNOTATION = "hollow.steersman.io/complete-after"
_RUNNING_CONDITIONS = ("PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready",
                       "PodScheduled")
_TERMINAL_PHASES = ("Succeeded", "Failed")


class Action(enum.Enum):
    """What a hollow node does next with one of its pods."""

    NOTHING = "nothing"
    START = "start"
    COMPLETE = "complete"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Decision:
    """An action now, or NOTHING with ``recheck_after`` seconds until one is due."""

    action: Action
    recheck_after: float | None = None


def decide(pod: Object, now_seconds: float) -> Decision:
    """The next step for ``pod``; a pod being deleted goes at once, as in kwok."""
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return Decision(Action.DELETE)
    status = pod.get("status") or {}
    phase = status.get("phase") or "Pending"
    if phase in _TERMINAL_PHASES:
        return Decision(Action.NOTHING)
    if phase != "Running" or not status.get("podIP"):
        return Decision(Action.START)
    remaining = completes_in(pod, now_seconds)
    if remaining is None:
        return Decision(Action.NOTHING)
    return Decision(Action.COMPLETE) if remaining <= 0 else Decision(Action.NOTHING, remaining)


def completion_delay(pod: Object) -> float | None:
    """The ``complete-after`` seconds of a pod that may complete; ``None`` otherwise."""
    if (pod.get("spec") or {}).get("restartPolicy") not in ("Never", "OnFailure"):
        return None
    text = ((pod.get("metadata") or {}).get("annotations") or {}).get(COMPLETE_AFTER_ANNOTATION)
    try:
        delay = float(text) if text is not None else None
    except ValueError:
        return None
    return delay if delay is not None and delay >= 0 else None


def completes_in(pod: Object, now_seconds: float) -> float | None:
    """Seconds until a running pod completes (≤ 0: due), ``None`` if it never does."""
    delay = completion_delay(pod)
    started = (pod.get("status") or {}).get("startTime")
    if delay is None or not started:
        return None
    return parse_time(str(started)).timestamp() + delay - now_seconds


def image_id(image: str) -> str:
    """A stable, digest-shaped image ID for an image reference."""
    repository = image.split("@", 1)[0]
    if repository.rfind(":") > repository.rfind("/"):
        repository = repository[: repository.rfind(":")]
    digest = hashlib.sha256(image.encode()).hexdigest()
    return f"docker-pullable://{repository}@sha256:{digest}"


def container_id(pod: Object, name: str) -> str:
    return f"hollow://{(pod.get('metadata') or {}).get('uid', '')}/{name}"


def running_status(pod: Object, *, host_ip: str, pod_ip: str, now: str) -> Object:
    """The status that takes ``pod`` to Running, started ``now``, in one write."""
    spec, old = pod.get("spec") or {}, pod.get("status") or {}
    started = str(old.get("startTime") or now)
    return {
        **old,
        "phase": "Running",
        "conditions": _conditions(old, {kind: "True" for kind in _RUNNING_CONDITIONS}, now),
        "hostIP": host_ip, "hostIPs": [{"ip": host_ip}],
        "podIP": pod_ip, "podIPs": [{"ip": pod_ip}],
        "startTime": started,
        "initContainerStatuses": [_init_status(pod, c, started)
                                  for c in spec.get("initContainers") or []],
        "containerStatuses": [_running(pod, c, started) for c in spec.get("containers") or []],
    }


def completed_status(pod: Object, *, now: str) -> Object:
    """The status of ``pod`` once all its containers exited 0 at ``now``."""
    spec, old = pod.get("spec") or {}, pod.get("status") or {}
    started = str(old.get("startTime") or now)
    flags = {"PodReadyToStartContainers": "False", "ContainersReady": "False", "Ready": "False"}
    return {
        **old,
        "phase": "Succeeded",
        "conditions": _conditions(old, flags, now, reason="PodCompleted"),
        "containerStatuses": [_terminated(pod, c, started, now)
                              for c in spec.get("containers") or []],
    }


def _conditions(old: Object, wanted: dict[str, str], now: str, reason: str = "") -> list[Object]:
    """``old``'s conditions with ``wanted`` statuses; a transition time moves on change only."""
    current = {c.get("type"): c for c in old.get("conditions") or [] if isinstance(c, dict)}
    result = [c for kind, c in current.items() if kind not in wanted]
    for kind, status in wanted.items():
        previous = current.get(kind) or {}
        condition: Object = {"type": kind, "status": status, "lastProbeTime": None,
                             "lastTransitionTime": now}
        if previous.get("status") == status and previous.get("lastTransitionTime"):
            condition["lastTransitionTime"] = previous["lastTransitionTime"]
        if reason and status == "False":
            condition["reason"] = reason
        result.append(condition)
    return result


def _base(pod: Object, container: Object) -> Object:
    name, image = str(container.get("name") or ""), str(container.get("image") or "")
    return {"name": name, "image": image, "imageID": image_id(image),
            "containerID": container_id(pod, name), "restartCount": 0}


def _running(pod: Object, container: Object, started: str) -> Object:
    return {**_base(pod, container), "ready": True, "started": True,
            "state": {"running": {"startedAt": started}}, "lastState": {}}


def _init_status(pod: Object, container: Object, started: str) -> Object:
    if container.get("restartPolicy") == "Always":
        return _running(pod, container, started)
    # A completed init container reports ready (kubelet's convention), a completed
    # regular container does not.
    return {**_terminated(pod, container, started, started), "ready": True}


def _terminated(pod: Object, container: Object, started: str, finished: str) -> Object:
    base = _base(pod, container)
    state = {"exitCode": 0, "reason": "Completed", "startedAt": started,
             "finishedAt": finished, "containerID": base["containerID"]}
    return {**base, "ready": False, "started": False, "state": {"terminated": state},
            "lastState": {}}
