"""What one sync of a pod must do: the kubelet's ``computePodActions``, as a pure function.

Given the pod spec, what the runtime holds for it (:class:`~.view.PodView`), the failed
liveness/startup probes and the restart back-off, :func:`compute_pod_actions` returns
:class:`PodActions`: create the sandbox, start which containers (init containers one at a
time, in order, each exiting 0 before the next; then all containers), kill which
instances and why, which containers wait in CrashLoopBackOff and for how long, and whether
the pod has finished for good (nothing will run again under its ``restartPolicy``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from steersman.kubelet.agent.cri import ContainerState, ContainerStatus
from steersman.kubelet.agent.view import PodView

Object = dict[str, Any]
BackoffLookup = Callable[[str, float], float]  # (container name, finished at) → seconds left


@dataclass(frozen=True)
class PodActions:
    create_sandbox: bool = False
    start: tuple[str, ...] = ()
    kill: dict[str, str] = field(default_factory=dict)  # container id → reason
    backoff: dict[str, float] = field(default_factory=dict)  # container name → seconds left
    finished: bool = False

    @property
    def idle(self) -> bool:
        return not (self.create_sandbox or self.start or self.kill)


@dataclass
class _Plan:
    start: list[str] = field(default_factory=list)
    kill: dict[str, str] = field(default_factory=dict)
    backoff: dict[str, float] = field(default_factory=dict)


def compute_pod_actions(pod: Object, view: PodView, *, unhealthy: Collection[str] = (),
                        backoff: BackoffLookup = lambda _name, _at: 0.0) -> PodActions:
    """The next steps for ``pod``; ``unhealthy`` holds the IDs whose liveness or startup
    probe failed for good."""
    spec = pod.get("spec") or {}
    policy = str(spec.get("restartPolicy") or "Always")
    if pod_finished(spec, view):
        return PodActions(finished=True)
    if not view.sandbox_ready:
        return PodActions(create_sandbox=True, start=_first_to_run(spec))
    plan = _Plan()
    if not _plan_init(spec, view, plan, policy, backoff):
        return PodActions(start=tuple(plan.start), kill=plan.kill, backoff=plan.backoff,
                          finished=_init_failed(spec, view, policy))
    for container in spec.get("containers") or []:
        _plan_container(str(container["name"]), view, plan, policy, unhealthy, backoff)
    return PodActions(start=tuple(plan.start), kill=plan.kill, backoff=plan.backoff)


def pod_finished(spec: Object, view: PodView) -> bool:
    """Whether no container of the pod will ever run again."""
    policy = str(spec.get("restartPolicy") or "Always")
    if policy == "Always":
        return False
    if _init_failed(spec, view, policy):
        return True
    latest = [view.latest(str(c["name"])) for c in spec.get("containers") or []]
    if any(c is None or c.state is not ContainerState.EXITED for c in latest):
        return False
    return policy == "Never" or all(c is not None and c.exit_code == 0 for c in latest)


def should_restart(policy: str, instance: ContainerStatus) -> bool:
    """Whether an exited container is started again under ``restartPolicy``."""
    return policy == "Always" or (policy == "OnFailure" and instance.exit_code != 0)


def _first_to_run(spec: Object) -> tuple[str, ...]:
    """In a fresh sandbox: the first init container, or else every container."""
    inits = spec.get("initContainers") or []
    if inits:
        return (str(inits[0]["name"]),)
    return tuple(str(c["name"]) for c in spec.get("containers") or [])


def _plan_init(spec: Object, view: PodView, plan: _Plan, policy: str,
               backoff: BackoffLookup) -> bool:
    """Plan the init containers; True once they are all done (sidecars started)."""
    for container in spec.get("initContainers") or []:
        name = str(container["name"])
        latest = view.latest(name)
        sidecar = container.get("restartPolicy") == "Always"
        if latest is None:
            plan.start.append(name)
            return False
        if latest.state is ContainerState.RUNNING:
            if sidecar:
                continue
            return False
        if latest.state is not ContainerState.EXITED:
            plan.kill[latest.id] = "stale"
            plan.start.append(name)
            return False
        if latest.exit_code == 0 and not sidecar:
            continue
        if not sidecar and policy == "Never":
            return False
        _restart(name, latest, plan, backoff)
        if not sidecar:
            return False
    return True


def _init_failed(spec: Object, view: PodView, policy: str) -> bool:
    if policy != "Never":
        return False
    for container in spec.get("initContainers") or []:
        latest = view.latest(str(container["name"]))
        if (container.get("restartPolicy") != "Always" and latest is not None
                and latest.state is ContainerState.EXITED and latest.exit_code != 0):
            return True
    return False


def _plan_container(name: str, view: PodView, plan: _Plan, policy: str,
                    unhealthy: Collection[str], backoff: BackoffLookup) -> None:
    latest = view.latest(name)
    if latest is None:
        plan.start.append(name)
    elif latest.state is ContainerState.RUNNING:
        if latest.id in unhealthy:
            # Killed now; the next sync restarts it like any exited container — under
            # the restart policy and the back-off, so a probe that keeps failing ends in
            # CrashLoopBackOff instead of a restart storm.
            plan.kill[latest.id] = "unhealthy"
    elif latest.state is ContainerState.EXITED:
        if should_restart(policy, latest):
            _restart(name, latest, plan, backoff)
    else:
        plan.kill[latest.id] = "stale"
        plan.start.append(name)


def _restart(name: str, latest: ContainerStatus, plan: _Plan, backoff: BackoffLookup) -> None:
    remaining = backoff(name, latest.finished_at)
    if remaining > 0:
        plan.backoff[name] = remaining
    else:
        plan.start.append(name)
