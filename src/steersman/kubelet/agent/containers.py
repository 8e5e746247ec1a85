"""Start and stop one container instance, with its lifecycle hooks.

Starting (``kuberuntime_container.go`` ``startContainer``): build the environment
(:mod:`.env`), expand ``$(VAR)`` in command and args, map the volume mounts, convert
requests and limits to cgroup values (:mod:`.resources`) and take ``runAsUser`` /
``runAsGroup`` from the securityContext, create the
instance with the kubelet's labels and its restart count, start it, then run the
``postStart`` hook — if the hook fails the instance is killed (``FailedPostStartHook``).
Stopping (``killContainer``): run ``preStop`` within the grace period, then stop with
whatever grace is left (SIGTERM, SIGKILL at the end); the runtime enforces the kill.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from steersman.kubelet.agent.context import AgentContext
from steersman.kubelet.agent.cri import (
    CONTAINER_NAME_LABEL,
    POD_NAME_LABEL,
    POD_NAMESPACE_LABEL,
    POD_UID_LABEL,
    RESTART_COUNT_ANNOTATION,
    ContainerConfig,
    ContainerStatus,
)
from steersman.kubelet.agent.env import EnvInputs, build_env, expand_command
from steersman.kubelet.agent.handlers import Target, run_handler
from steersman.kubelet.agent.resources import container_resources
from steersman.kubelet.agent.volumes import container_mounts

log = logging.getLogger(__name__)
Object = dict[str, Any]


class HookFailed(Exception):
    """A postStart hook failed; the instance has been killed."""


def pod_labels(pod: Object) -> dict[str, str]:
    metadata = pod["metadata"]
    return {POD_UID_LABEL: str(metadata["uid"]), POD_NAME_LABEL: str(metadata["name"]),
            POD_NAMESPACE_LABEL: str(metadata["namespace"])}


def container_config(pod: Object, container: Object, *, restart_count: int,
                     inputs: EnvInputs, volume_paths: Mapping[str, Path],
                     log_dir: Path, image_ref: str = "") -> ContainerConfig:
    """The runtime's view of one instance of ``container`` (``image_ref``: the pulled
    image, for runtimes that run images)."""
    env = build_env(pod, container, inputs)
    name = str(container["name"])
    user, group = run_as(pod, container)
    return ContainerConfig(
        name=name, image=str(container.get("image") or ""), image_ref=image_ref,
        command=expand_command(container.get("command") or [], env),
        args=expand_command(container.get("args") or [], env),
        working_dir=str(container.get("workingDir") or ""), env=tuple(env),
        mounts=tuple(container_mounts(container, volume_paths)),
        log_path=str(log_dir / name / f"{restart_count}.log"),
        resources=container_resources(container), run_as_user=user, run_as_group=group,
        labels={**pod_labels(pod), CONTAINER_NAME_LABEL: name},
        annotations={RESTART_COUNT_ANNOTATION: str(restart_count)},
        stdin=bool(container.get("stdin")), stdin_once=bool(container.get("stdinOnce")))


def run_as(pod: Object, container: Object) -> tuple[int | None, int | None]:
    """``runAsUser`` and ``runAsGroup``: the container's securityContext over the pod's."""
    pod_context = (pod.get("spec") or {}).get("securityContext") or {}
    context = container.get("securityContext") or {}
    values = (context.get(key, pod_context.get(key)) for key in ("runAsUser", "runAsGroup"))
    user, group = (int(v) if v is not None else None for v in values)
    return user, group


async def start_container(ctx: AgentContext, pod: Object, container: Object,
                          sandbox_id: str, config: ContainerConfig, pod_ip: str) -> str:
    """Create and start one instance; run its postStart hook."""
    container_id = await ctx.runtime.create_container(sandbox_id, config)
    await ctx.runtime.start_container(container_id)
    hook = (container.get("lifecycle") or {}).get("postStart")
    if hook:
        target = Target(ctx.runtime, container_id, pod_ip, container.get("ports") or ())
        outcome = await run_handler(hook, target, timeout=termination_grace(pod))
        if not outcome.ok:
            await ctx.runtime.stop_container(container_id, 0)
            raise HookFailed(f"PostStartHook failed: {outcome.message}")
    return container_id


async def stop_container(ctx: AgentContext, instance: ContainerStatus,
                         container: Object | None, *, grace: float, pod_ip: str) -> None:
    """preStop (within ``grace``), then SIGTERM and SIGKILL when the grace runs out."""
    started = ctx.clock.now()
    hook = ((container or {}).get("lifecycle") or {}).get("preStop")
    if hook and grace > 0:
        target = Target(ctx.runtime, instance.id, pod_ip, (container or {}).get("ports") or ())
        outcome = await run_handler(hook, target, timeout=grace)
        if not outcome.ok:
            log.info("preStop hook of %s failed: %s", instance.id, outcome.message)
    remaining = max(grace - (ctx.clock.now() - started), 0.0)
    # The kubelet gives an overrunning preStop hook a 2 s extension before the TERM.
    await ctx.runtime.stop_container(instance.id, remaining if remaining > 0 else min(grace, 2))


def termination_grace(pod: Object) -> float:
    """The deletion's grace period, else the spec's, else 30 s."""
    deletion = (pod.get("metadata") or {}).get("deletionGracePeriodSeconds")
    if deletion is not None:
        return float(deletion)
    spec_grace = (pod.get("spec") or {}).get("terminationGracePeriodSeconds")
    return float(30 if spec_grace is None else spec_grace)
