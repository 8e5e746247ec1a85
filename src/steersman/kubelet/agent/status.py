"""Pod status from runtime state: phase, conditions and container statuses (pure).

The kubelet's ``generateAPIPodStatus`` and ``getPhase`` (``kubelet_pods.go``) and
``status/generate.go``, smaller:

* container statuses — ``waiting`` (ContainerCreating, PodInitializing, CrashLoopBackOff,
  CreateContainerConfigError, …), ``running`` or ``terminated`` (Completed, Error,
  OOMKilled) from the newest instance, ``lastState`` from the one before, ``restartCount``,
  ``ready`` (readiness result), ``started`` (startup result), image, imageID, containerID;
* phase — Pending while init containers run or a container never started; Running while
  a container runs or will be restarted; Succeeded / Failed once nothing will run again;
* conditions — PodReadyToStartContainers (sandbox), Initialized, ContainersReady, Ready,
  PodScheduled, each keeping its ``lastTransitionTime`` until its status changes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from steersman.api.meta import now_rfc3339
from steersman.kubelet.agent.cri import ContainerState, ContainerStatus
from steersman.kubelet.agent.view import PodView

Object = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Waiting:
    reason: str
    message: str = ""


@dataclass(frozen=True)
class StatusInputs:
    """Everything besides the pod that its status depends on."""

    view: PodView
    runtime_name: str
    host_ip: str
    pod_ip: str
    now: str
    ready: Mapping[str, bool] = field(default_factory=dict)
    started: Mapping[str, bool] = field(default_factory=dict)
    waiting: Mapping[str, Waiting] = field(default_factory=dict)
    message: str = ""
    reason: str = ""


def pod_status(pod: Object, inputs: StatusInputs) -> Object:
    """The complete status of ``pod`` (what the agent writes to ``pods/<name>/status``)."""
    spec, old = pod.get("spec") or {}, pod.get("status") or {}
    inits = [container_status(c, inputs, init=True) for c in spec.get("initContainers") or []]
    initialized = _initialized(spec, inits)
    mains = [container_status(c, inputs, initializing=not initialized)
             for c in spec.get("containers") or []]
    phase = pod_phase(spec, inits, mains, initialized=initialized)
    status: Object = {
        "phase": phase,
        "conditions": _conditions(old, _condition_values(spec, inputs, inits, mains, phase),
                                  inputs.now),
        "hostIP": inputs.host_ip, "hostIPs": [{"ip": inputs.host_ip}],
        "startTime": old.get("startTime") or inputs.now,
        "containerStatuses": mains, "qosClass": old.get("qosClass") or qos_class(spec),
    }
    if inputs.pod_ip:
        status.update(podIP=inputs.pod_ip, podIPs=[{"ip": inputs.pod_ip}])
    if inits:
        status["initContainerStatuses"] = inits
    if inputs.reason:
        status.update(reason=inputs.reason, message=inputs.message)
    return status


def container_status(container: Object, inputs: StatusInputs, *, init: bool = False,
                     initializing: bool = False) -> Object:
    name = str(container.get("name") or "")
    latest, previous = inputs.view.latest(name), inputs.view.previous(name)
    image = str(container.get("image") or "")
    status: Object = {"name": name, "image": image, "imageID": image_id(image, latest),
                      "restartCount": latest.restart_count if latest else 0,
                      "ready": False, "started": False, "lastState": {}}
    override = inputs.waiting.get(name)
    if override is not None:
        status["state"] = {"waiting": _waiting(override)}
        if latest is not None and latest.state is ContainerState.EXITED:
            status["lastState"] = {"terminated": _terminated(latest, inputs.runtime_name)}
    elif latest is None or latest.state in (ContainerState.CREATED, ContainerState.UNKNOWN):
        reason = "PodInitializing" if initializing else "ContainerCreating"
        status["state"] = {"waiting": {"reason": reason}}
    else:
        sidecar = container.get("restartPolicy") == "Always"
        _fill_from_instance(status, latest, previous, inputs, init=init and not sidecar)
    return status


def _fill_from_instance(status: Object, latest: ContainerStatus,
                        previous: ContainerStatus | None, inputs: StatusInputs, *,
                        init: bool) -> None:
    status["containerID"] = container_id(inputs.runtime_name, latest.id)
    if previous is not None and previous.state is ContainerState.EXITED:
        status["lastState"] = {"terminated": _terminated(previous, inputs.runtime_name)}
    if latest.state is ContainerState.RUNNING:
        status["state"] = {"running": {"startedAt": now_rfc3339(latest.started_at)}}
        status["started"] = inputs.started.get(latest.id, True)
        status["ready"] = status["started"] and inputs.ready.get(latest.id, True) and not init
        return
    status["state"] = {"terminated": _terminated(latest, inputs.runtime_name)}
    status["ready"] = init and latest.exit_code == 0


def pod_phase(spec: Object, inits: list[Object], mains: list[Object], *,
              initialized: bool) -> str:
    """``getPhase``: what the pod as a whole is doing."""
    policy = str(spec.get("restartPolicy") or "Always")
    if any(_failed_for_good(s, policy) for s in inits):
        return "Failed"
    if not initialized:
        return "Pending"
    running = sum(1 for s in mains if "running" in s["state"])
    stopped = [s for s in mains if "terminated" in s["state"]
               or "terminated" in (s.get("lastState") or {})]
    if len(stopped) + running < len(mains):
        return "Pending"
    if running or policy == "Always":
        return "Running"
    exits = [_exit_code(s) for s in stopped]
    if all(code == 0 for code in exits):
        return "Succeeded" if all("terminated" in s["state"] for s in stopped) else "Running"
    if policy == "Never":
        return "Failed" if all("terminated" in s["state"] for s in stopped) else "Running"
    return "Running"


def qos_class(spec: Object) -> str:
    """Guaranteed, Burstable or BestEffort from the containers' requests and limits."""
    resources = [c.get("resources") or {} for c in spec.get("containers") or []]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    guaranteed = all(
        all((r.get("limits") or {}).get(k) for k in ("cpu", "memory"))
        and all((r.get("requests") or {}).get(k, (r.get("limits") or {}).get(k))
                == (r.get("limits") or {}).get(k) for k in ("cpu", "memory"))
        for r in resources)
    return "Guaranteed" if guaranteed else "Burstable"


def container_id(runtime_name: str, runtime_id: str) -> str:
    return f"{runtime_name}://{runtime_id}"


def image_id(image: str, instance: ContainerStatus | None) -> str:
    """The runtime's image reference (``repo@sha256:…`` for a pulled image), a stable
    digest-shaped one for a runtime that reports none, or ``""`` before any instance
    exists (a container waiting for its image has no image ID yet, as upstream)."""
    if instance is None:
        return ""
    if instance.image_ref:
        return instance.image_ref
    return f"sha256:{hashlib.sha256(image.encode()).hexdigest()}" if image else ""


def _initialized(spec: Object, inits: list[Object]) -> bool:
    return not _incomplete(spec, inits)


def _incomplete(spec: Object, inits: list[Object]) -> list[str]:
    """Init containers not done yet: not exited 0, or (sidecars) not started."""
    pending: list[str] = []
    for container, status in zip(spec.get("initContainers") or [], inits, strict=True):
        if container.get("restartPolicy") == "Always":
            done = bool(status["started"])
        else:
            done = "terminated" in status["state"] and _exit_code(status) == 0
        if not done:
            pending.append(status["name"])
    return pending


def _failed_for_good(status: Object, policy: str) -> bool:
    terminated = status["state"].get("terminated")
    return policy == "Never" and terminated is not None and terminated["exitCode"] != 0


def _exit_code(status: Object) -> int:
    terminated = status["state"].get("terminated") or \
        (status.get("lastState") or {}).get("terminated") or {}
    return int(terminated.get("exitCode", -1))


def _condition_values(spec: Object, inputs: StatusInputs, inits: list[Object],
                      mains: list[Object], phase: str) -> dict[str, tuple[str, str, str]]:
    unready = [s["name"] for s in mains if not s["ready"]]
    pending = _incomplete(spec, inits)
    completed = phase in ("Succeeded", "Failed")
    ready = _flag(not unready and not completed,
                  "PodCompleted" if completed else "ContainersNotReady",
                  f"containers with unready status: [{' '.join(unready)}]")
    return {
        "PodReadyToStartContainers": _flag(inputs.view.sandbox_ready, "", ""),
        "Initialized": _flag(not pending, "PodCompleted" if completed else
                             "ContainersNotInitialized",
                             f"containers with incomplete status: [{' '.join(pending)}]"),
        "ContainersReady": ready, "Ready": ready, "PodScheduled": ("True", "", ""),
    }


def _flag(ok: bool, reason: str, message: str) -> tuple[str, str, str]:
    return ("True", "", "") if ok else ("False", reason, message if reason else "")


def _conditions(old: Object, wanted: dict[str, tuple[str, str, str]], now: str) -> list[Object]:
    current = {c.get("type"): c for c in old.get("conditions") or [] if isinstance(c, dict)}
    result = [c for kind, c in current.items() if kind not in wanted]
    for kind, (value, reason, message) in wanted.items():
        previous = current.get(kind) or {}
        since = previous.get("lastTransitionTime") if previous.get("status") == value else None
        condition: Object = {"type": kind, "status": value, "lastProbeTime": None,
                             "lastTransitionTime": since or now}
        if reason:
            condition.update(reason=reason, message=message)
        result.append(condition)
    return result


def _waiting(override: Waiting) -> Object:
    waiting: Object = {"reason": override.reason}
    if override.message:
        waiting["message"] = override.message
    return waiting


def _terminated(instance: ContainerStatus, runtime_name: str) -> Object:
    reason = instance.reason or ("Completed" if instance.exit_code == 0 else "Error")
    terminated: Object = {
        "exitCode": instance.exit_code, "reason": reason,
        "startedAt": now_rfc3339(instance.started_at) if instance.started_at else None,
        "finishedAt": now_rfc3339(instance.finished_at) if instance.finished_at else None,
        "containerID": container_id(runtime_name, instance.id),
    }
    if instance.message:
        terminated["message"] = instance.message
    return terminated
