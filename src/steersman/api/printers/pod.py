"""Pod rows: the aggregate Ready, Status and Restarts cells of ``kubectl get pods``.

Follows ``printPod`` of kube-apiserver 1.32 step by step: the phase (or ``status.reason``,
or ``SchedulingGated``) is the starting status; the first init container that has not
finished overrides it (``Init:N/M``, ``Init:<reason>``, ``Init:ExitCode:N``); once
initialised, the first app container's waiting or terminated reason wins (containers are
scanned last to first); a deleting pod reads ``Terminating``. Restartable init containers
(sidecars, ``restartPolicy: Always``) count towards Ready and Restarts like app containers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from steersman.api.printers.cells import (
    NONE,
    age,
    first_true_condition,
    human_duration,
    items,
    mapping,
    name_of,
    number,
    parse_time,
    text,
)
from steersman.api.printers.columns import AGE, NAME, WIDE, Printer, api, col

_NODE_UNREACHABLE = "NodeLost"
_TERMINAL_PHASES = ("Succeeded", "Failed")

_COLUMNS = (
    NAME,
    col("Ready", "The aggregate readiness state of this pod for accepting traffic."),
    col("Status", "The aggregate status of the containers in this pod."),
    col("Restarts", "The number of times the containers in this pod have been restarted and "
        "when the last container in this pod has restarted."),
    AGE,
    col("IP", api("core.v1.PodStatus", "podIP"), priority=WIDE),
    col("Node", api("core.v1.PodSpec", "nodeName"), priority=WIDE),
    col("Nominated Node", api("core.v1.PodStatus", "nominatedNodeName"), priority=WIDE),
    col("Readiness Gates", api("core.v1.PodSpec", "readinessGates"), priority=WIDE),
)


@dataclass
class _Tally:
    """What the scan of container statuses accumulates."""

    reason: str
    ready: int = 0
    restarts: int = 0
    last_restart: float | None = None
    sidecar_restarts: int = 0
    sidecar_last_restart: float | None = None


def pod_cells(pod: Mapping[str, Any], now: float) -> list[Any]:
    spec, status = mapping(pod, "spec"), mapping(pod, "status")
    tally = _Tally(reason=_initial_reason(status))
    initializing = _scan_init_containers(spec, status, tally)
    if not initializing or first_true_condition(items(status, "conditions"), "Initialized"):
        _scan_containers(status, tally)
    reason = _deletion_override(pod, status, tally.reason)
    return [
        name_of(pod), f"{tally.ready}/{_total_containers(spec)}", reason,
        _restarts(tally, now), age(pod, now), *_wide_cells(spec, status),
    ]


def _initial_reason(status: Mapping[str, Any]) -> str:
    reason = text(status, "reason") or text(status, "phase")
    for condition in items(status, "conditions"):
        if text(condition, "type") == "PodScheduled" and (
            text(condition, "reason") == "SchedulingGated"
        ):
            reason = "SchedulingGated"
    return reason


def _total_containers(spec: Mapping[str, Any]) -> int:
    sidecars = sum(1 for c in items(spec, "initContainers") if _is_sidecar(c))
    return len(items(spec, "containers")) + sidecars


def _is_sidecar(container: Any) -> bool:
    return text(container, "restartPolicy") == "Always"


def _scan_init_containers(
    spec: Mapping[str, Any], status: Mapping[str, Any], tally: _Tally,
) -> bool:
    """Tally init containers up to the first unfinished one; True when still initialising."""
    init_specs = {text(c, "name"): c for c in items(spec, "initContainers")}
    total = len(items(spec, "initContainers"))
    for index, container in enumerate(items(status, "initContainerStatuses")):
        sidecar = _is_sidecar(init_specs.get(text(container, "name")))
        _count_restarts(container, tally, sidecar=sidecar)
        terminated = mapping(container, "state").get("terminated")
        if terminated is not None and number(terminated, "exitCode") == 0:
            continue
        if sidecar and mapping(container).get("started") is True:
            tally.ready += 1 if mapping(container).get("ready") is True else 0
            continue
        tally.reason = _init_reason(container, index, total)
        return True
    return False


def _init_reason(container: Any, index: int, total: int) -> str:
    state = mapping(container, "state")
    terminated, waiting = state.get("terminated"), state.get("waiting")
    if terminated is not None:
        return "Init:" + _terminated_reason(terminated)
    waiting_reason = text(waiting, "reason")
    if waiting is not None and waiting_reason and waiting_reason != "PodInitializing":
        return "Init:" + waiting_reason
    return f"Init:{index}/{total}"


def _terminated_reason(terminated: Any) -> str:
    reason = text(terminated, "reason")
    if reason:
        return reason
    signal = number(terminated, "signal")
    if signal != 0:
        return f"Signal:{signal}"
    return f"ExitCode:{number(terminated, 'exitCode')}"


def _count_restarts(container: Any, tally: _Tally, *, sidecar: bool) -> None:
    count = number(container, "restartCount")
    finished = parse_time(mapping(container, "lastState", "terminated").get("finishedAt"))
    tally.restarts += count
    tally.last_restart = _later(tally.last_restart, finished)
    if sidecar:
        tally.sidecar_restarts += count
        tally.sidecar_last_restart = _later(tally.sidecar_last_restart, finished)


def _later(current: float | None, candidate: float | None) -> float | None:
    if candidate is None or (current is not None and current >= candidate):
        return current
    return candidate


def _scan_containers(status: Mapping[str, Any], tally: _Tally) -> None:
    """App containers, last to first, so the first container's reason is the one shown."""
    tally.restarts, tally.last_restart = tally.sidecar_restarts, tally.sidecar_last_restart
    has_running = False
    for container in reversed(items(status, "containerStatuses")):
        _count_restarts(container, tally, sidecar=False)
        state = mapping(container, "state")
        waiting, terminated = state.get("waiting"), state.get("terminated")
        if waiting is not None and text(waiting, "reason"):
            tally.reason = text(waiting, "reason")
        elif terminated is not None:
            tally.reason = _terminated_reason(terminated)
        elif mapping(container).get("ready") is True and state.get("running") is not None:
            has_running = True
            tally.ready += 1
    if tally.reason == "Completed" and has_running:
        tally.reason = "Running" if _is_ready(status) else "NotReady"


def _is_ready(status: Mapping[str, Any]) -> bool:
    return any(
        text(c, "type") == "Ready" and text(c, "status") == "True"
        for c in items(status, "conditions")
    )


def _deletion_override(pod: Mapping[str, Any], status: Mapping[str, Any], reason: str) -> str:
    if mapping(pod, "metadata").get("deletionTimestamp") is None:
        return reason
    if text(status, "reason") == _NODE_UNREACHABLE:
        return "Unknown"
    if text(status, "phase") not in _TERMINAL_PHASES:
        return "Terminating"
    return reason


def _restarts(tally: _Tally, now: float) -> str:
    if tally.restarts == 0 or tally.last_restart is None:
        return str(tally.restarts)
    return f"{tally.restarts} ({human_duration(now - tally.last_restart)} ago)"


def _wide_cells(spec: Mapping[str, Any], status: Mapping[str, Any]) -> list[str]:
    pod_ips = items(status, "podIPs")
    pod_ip = text(status, "podIP") or (text(pod_ips[0], "ip") if pod_ips else "")
    return [
        pod_ip or NONE,
        text(spec, "nodeName") or NONE,
        text(status, "nominatedNodeName") or NONE,
        _readiness_gates(spec, status),
    ]


def _readiness_gates(spec: Mapping[str, Any], status: Mapping[str, Any]) -> str:
    gates = items(spec, "readinessGates")
    if not gates:
        return NONE
    conditions = items(status, "conditions")
    passing = sum(
        1 for gate in gates
        if first_true_condition(conditions, text(gate, "conditionType"))
    )
    return f"{passing}/{len(gates)}"


PRINTERS = {"Pod": Printer(_COLUMNS, pod_cells)}
