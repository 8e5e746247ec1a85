"""The runtime side of one pod: its view, sandbox, pod IP, volumes and container starts.

:class:`PodRuntime` is what a :class:`~.pod_worker.PodWorker` calls to change the runtime:
create the sandbox (with the pod IP and network namespace from the node's
:mod:`~steersman.kubelet.network`, the IP recorded as a sandbox annotation, so an agent that
restarts gives the pod the same address; the pod's network goes after its sandbox),
refresh the volumes (at most every ``volume_resync_interval``), start an instance of a
container with the next restart count (its image ensured first when the runtime runs
images: :mod:`.image_pulls`; recording the restart in the back-off), and remove everything
at the end. It keeps only the two newest instances of each container (the running one and
the one ``lastState`` shows).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from steersman.kubelet.agent.containers import container_config, pod_labels, start_container
from steersman.kubelet.agent.context import AgentContext
from steersman.kubelet.agent.cri import (
    POD_IP_ANNOTATION,
    ContainerState,
    SandboxConfig,
)
from steersman.kubelet.agent.downward import ContainerConfigError, PodAddresses
from steersman.kubelet.agent.handlers import Target
from steersman.kubelet.agent.nonroot import verify_run_as_non_root
from steersman.kubelet.agent.relist import last_change
from steersman.kubelet.agent.resolv import resolv_conf
from steersman.kubelet.agent.sources import fetch_env_inputs
from steersman.kubelet.agent.status import container_id
from steersman.kubelet.agent.view import PodView
from steersman.kubelet.network import Attachment, NetworkError, PodRef
from steersman.kubelet.runtime.crilog import remove_log

Object = dict[str, Any]
_KEEP_INSTANCES = 2


class PodRuntime:
    """Runtime operations on one pod (by UID)."""

    def __init__(self, ctx: AgentContext, uid: str) -> None:
        self._ctx = ctx
        self._uid = uid
        self.pod_ip = ctx.addresses.address_of(uid) or ""
        self._volume_paths: dict[str, Path] = {}
        self._volumes_at = float("-inf")

    async def view(self) -> PodView:
        view = await self._ctx.snapshots.view(self._uid, after=last_change())
        if view.sandbox is not None and not self.pod_ip:
            self._claim(view.sandbox.annotations.get(POD_IP_ANNOTATION, ""))
        return view

    async def create_sandbox(self, pod: Object, view: PodView) -> PodView:
        for stale in [view.sandbox, *view.stale_sandboxes]:
            if stale is not None:
                await self._ctx.runtime.remove_pod_sandbox(stale.id)
        metadata = pod["metadata"]
        attachment = await self._attach(pod)
        self.pod_ip = attachment.pod_ip
        config = SandboxConfig(
            name=str(metadata["name"]), namespace=str(metadata["namespace"]), uid=self._uid,
            hostname=str((pod.get("spec") or {}).get("hostname") or metadata["name"]),
            pod_ip=self.pod_ip, log_directory=str(self._log_dir()), labels=pod_labels(pod),
            annotations={POD_IP_ANNOTATION: self.pod_ip}, netns_path=attachment.netns_path,
            resolv_conf_path=self._resolv_conf(pod))
        await self._ctx.runtime.run_pod_sandbox(config)
        self._volumes_at = float("-inf")
        return await self.view()

    def _resolv_conf(self, pod: Object) -> str | None:
        """The pod's resolv.conf (cluster DNS) in its directory, when the node has one."""
        config = self._ctx.config
        text = resolv_conf(pod, nameserver=config.cluster_dns,
                           domain=config.cluster_domain) if config.cluster_dns else None
        if text is None:
            return None
        path = self._ctx.volumes.pod_dir(self._uid) / "resolv.conf"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return str(path)

    async def refresh_volumes(self, pod: Object) -> None:
        now = self._ctx.clock.now()
        if now - self._volumes_at < self._ctx.config.volume_resync_interval:
            return
        inputs = await fetch_env_inputs(self._ctx.reads, pod, self.addresses(),
                                        self._ctx.allocatable)
        self._volume_paths = await self._ctx.volumes.setup(pod, inputs)
        self._volumes_at = now

    async def start(self, pod: Object, name: str, view: PodView) -> None:
        spec = self.container_spec(pod, name)
        if spec is None or view.sandbox is None:
            return
        latest = view.latest(name)
        restart_count = 0 if latest is None else latest.restart_count + 1
        image_ref = ""
        if self._ctx.images is not None:
            image = await self._ctx.images.ensure(pod, spec)
            verify_run_as_non_root(pod, spec, image.user)
            image_ref = image.ref
        inputs = await fetch_env_inputs(self._ctx.reads, pod, self.addresses(),
                                        self._ctx.allocatable)
        config = container_config(pod, spec, restart_count=restart_count, inputs=inputs,
                                  volume_paths=self._volume_paths, log_dir=self._log_dir(),
                                  image_ref=image_ref)
        await self._remove_old(view, name)
        if latest is not None:
            self._ctx.backoff.restarted(f"{self._uid}/{name}")
        await start_container(self._ctx, pod, spec, view.sandbox.id, config, self.pod_ip)

    async def stop_sandbox(self, view: PodView) -> None:
        if view.sandbox is not None and view.sandbox.ready:
            await self._ctx.runtime.stop_pod_sandbox(view.sandbox.id)

    async def remove_all(self) -> None:
        view = await self.view()
        for instance in view.all():
            await self._ctx.runtime.remove_container(instance.id)
        for sandbox in [view.sandbox, *view.stale_sandboxes]:
            if sandbox is not None:
                await self._ctx.runtime.stop_pod_sandbox(sandbox.id)
                await self._ctx.runtime.remove_pod_sandbox(sandbox.id)
        self._ctx.volumes.teardown(self._uid)
        shutil.rmtree(self._log_dir(), ignore_errors=True)  # the pod's container logs
        await self._ctx.network.teardown(self._uid)  # after the sandbox: nothing uses it now
        self._ctx.backoff.forget_prefix(f"{self._uid}/")
        self._ctx.tokens.forget(self._uid)
        self._ctx.events.forget(self._uid)
        if self._ctx.images is not None:
            self._ctx.images.forget(self._uid)

    def addresses(self) -> PodAddresses:
        return PodAddresses(node_name=self._ctx.config.node_name,
                            host_ip=self._ctx.config.node_ip, pod_ip=self.pod_ip)

    def target(self, runtime_id: str, spec: Object) -> Target:
        return Target(self._ctx.runtime, runtime_id, self.pod_ip, spec.get("ports") or ())

    def container_id(self, runtime_id: str) -> str:
        return container_id(self._ctx.runtime.name, runtime_id)

    @staticmethod
    def container_spec(pod: Object, name: str) -> Object | None:
        spec = pod.get("spec") or {}
        containers = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
        return next((c for c in containers if c.get("name") == name), None)

    async def _remove_old(self, view: PodView, name: str) -> None:
        instances = list(view.containers.get(name) or ())
        for old in instances[: max(len(instances) - _KEEP_INSTANCES + 1, 0)]:
            if old.state is not ContainerState.RUNNING:
                await self._ctx.runtime.remove_container(old.id)
                remove_log(self._log_dir() / name / f"{old.restart_count}.log")

    def _claim(self, ip: str) -> None:
        if ip and self._ctx.network.adopt(self._uid, ip) is not None:
            self.pod_ip = ip

    async def _attach(self, pod: Object) -> Attachment:
        """The pod's IP (and network namespace) from the node's pod network; a failure is
        a Warning event (as upstream's sandbox failures) and every container's reason."""
        try:
            return await self._ctx.network.setup(PodRef.of(pod))
        except NetworkError as err:
            await self._ctx.events.event(pod, "", "Warning", "FailedCreatePodSandBox",
                                         f"{err.reason}: {err}")
            raise ContainerConfigError(str(err), reason=err.reason) from err

    async def resume_network(self, pod: Object) -> None:
        """What of the pod's network lives in the agent (host mode's host-port relays), back
        in place for a pod an earlier agent started; a failure is a Warning event."""
        if not self.pod_ip:
            return
        try:
            await self._ctx.network.resume(PodRef.of(pod), self.pod_ip)
        except NetworkError as err:
            await self._ctx.events.event(pod, "", "Warning", err.reason, str(err))

    def _log_dir(self) -> Path:
        return self._ctx.config.data_dir / "logs" / self._uid
