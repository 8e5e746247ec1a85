"""Pods and runtime states for the agent's unit tests."""

from __future__ import annotations

from typing import Any

from steersman.kubelet.agent.cri import (
    CONTAINER_NAME_LABEL,
    POD_UID_LABEL,
    RESTART_COUNT_ANNOTATION,
    ContainerState,
    ContainerStatus,
    SandboxStatus,
)
from steersman.kubelet.agent.view import PodView

Object = dict[str, Any]
T0 = 1_700_000_000.0


def pod(*containers: Object, init: tuple[Object, ...] = (), policy: str = "Always",
        **spec: Any) -> Object:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "ns", "uid": "uid-1",
                         "labels": {"app": "web"}},
            "spec": {"containers": list(containers) or [container("app")],
                     "initContainers": list(init), "restartPolicy": policy,
                     "nodeName": "n1", **spec},
            "status": {}}


def container(name: str, **fields: Any) -> Object:
    return {"name": name, "image": "busybox", "command": ["sh", "-c", "sleep 1"], **fields}


def instance(name: str, state: ContainerState, *, exit_code: int = 0, restarts: int = 0,
             cid: str = "", finished: float = T0, reason: str = "") -> ContainerStatus:
    return ContainerStatus(
        cid or f"{name}-{restarts}", "sb", state, created_at=T0 + restarts, started_at=T0,
        finished_at=finished if state is ContainerState.EXITED else 0.0,
        exit_code=exit_code, reason=reason,
        labels={POD_UID_LABEL: "uid-1", CONTAINER_NAME_LABEL: name},
        annotations={RESTART_COUNT_ANNOTATION: str(restarts)})


def view(*instances: ContainerStatus, sandbox: bool = True) -> PodView:
    grouped: dict[str, list[ContainerStatus]] = {}
    for item in instances:
        grouped.setdefault(item.name, []).append(item)
    box = SandboxStatus("sb", True, T0, {POD_UID_LABEL: "uid-1"}) if sandbox else None
    return PodView(box, grouped)
