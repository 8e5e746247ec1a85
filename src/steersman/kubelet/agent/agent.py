"""``NodeAgent``: register the node, adopt what the runtime runs, then run the pods.

Start-up order, so a restarted agent changes nothing that runs: bind the streaming server
(:mod:`.serving`, when the agent is given the full runtime service and a serving
certificate) so its port can be published, register (or resume) the
Node — retried with capped back-off while the API server is away —, start the pod informer
(``spec.nodeName=<node>``), wait for its first list, claim the pod IPs recorded on the
runtime's sandboxes, seed the status writer with the statuses the API already shows,
start one worker per pod (each finds its sandbox and containers running and only resumes
probing, readiness seeded from the API), and remove the containers of pods deleted
meanwhile. Then the heartbeat, the status writer, the container log rotation (with a
runtime service, :mod:`.log_rotation`), the informer and the workers run until cancelled;
cancelling leaves every container running and stops the streaming server.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from steersman.api.errors import StatusError
from steersman.client import PODS, Client, Clock, Informer, ServerUnreachable
from steersman.kubelet.agent.config import AgentConfig
from steersman.kubelet.agent.containers import stop_container, termination_grace
from steersman.kubelet.agent.context import AgentContext
from steersman.kubelet.agent.cri import (
    POD_IP_ANNOTATION,
    POD_UID_LABEL,
    ContainerState,
    ContainerStatus,
    Runtime,
)
from steersman.kubelet.agent.log_rotation import rotate_logs_periodically
from steersman.kubelet.agent.node import NodeHeartbeat
from steersman.kubelet.agent.serving import AgentPods, NodeServing
from steersman.kubelet.agent.workers import PodWorkers
from steersman.kubelet.runtime.interface import RuntimeService
from steersman.kubelet.stats import ResourceMetricsHandler, UsageCollector

log = logging.getLogger(__name__)
Object = dict[str, Any]
_REGISTER_RETRY_BASE, _REGISTER_RETRY_CAP = 0.5, 30.0


class NodeAgent:
    """One node: its heartbeat, its pod informer, its pod workers and its streaming server.

    ``service``: the runtime service behind ``runtime``, for exec and logs (None: the
    node serves no streams).
    """

    def __init__(self, client: Client, runtime: Runtime, config: AgentConfig, *,
                 clock: Clock, service: RuntimeService | None = None) -> None:
        self.ctx = AgentContext.build(client, runtime, config, clock=clock)
        self.heartbeat = NodeHeartbeat(client, config,
                                       runtime=f"{runtime.name}://{runtime.version}",
                                       clock=clock)
        self.informer = Informer(client, PODS, field_selector=f"spec.nodeName={config.node_name}",
                                 clock=clock)
        self.workers = PodWorkers(self.ctx)
        self.service = service
        self.serving = None if service is None else NodeServing(config, AgentPods(
            self.informer.indexer, service, addresses=self.ctx.addresses,
            statuses=self.ctx.statuses.last_written), service,
            resource_metrics=ResourceMetricsHandler(UsageCollector(runtime)))
        self._adopted = False
        self.informer.add_handlers(on_add=self._seen, on_update=lambda _old, new: self._seen(new),
                                   on_delete=self._gone)

    async def start(self) -> None:
        """Prepare pod networking (in bridge mode the node's address is its bridge's), bind
        the streaming server, then register the Node with its port."""
        await self.ctx.network.ensure()
        if self.serving is not None:
            self.heartbeat.kubelet_port = await self.serving.start()
        try:
            await self.register()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Stop serving streams (the containers keep running); the node's pod network goes
        only if no pod holds an address on it any more."""
        if self.serving is not None:
            await self.serving.stop()
        await self.ctx.network.close()

    async def register(self) -> None:
        """Register the Node, retrying with capped back-off while the server is away."""
        delay = _REGISTER_RETRY_BASE
        while True:
            try:
                await self.heartbeat.register()
            except (ServerUnreachable, OSError) as err:
                log.warning("cannot register node yet (%s); retrying in %.1f s", err, delay)
            except StatusError as err:
                if err.code < 500:
                    raise
                log.warning("cannot register node yet (%s); retrying in %.1f s", err, delay)
            else:
                self.ctx.allocatable = self.heartbeat.allocatable
                return
            await self.ctx.clock.sleep(delay)
            delay = min(delay * 2, _REGISTER_RETRY_CAP)

    async def run(self) -> None:
        """Adopt, then run everything until cancelled."""
        informer = asyncio.create_task(self.informer.run())
        try:
            await self.informer.wait_synced()
            await self._adopt()
            async with asyncio.TaskGroup() as group:
                group.create_task(self.heartbeat.run())
                group.create_task(self.ctx.statuses.run())
                if self.service is not None:
                    group.create_task(rotate_logs_periodically(self.service, clock=self.ctx.clock))
                await informer
        finally:
            informer.cancel()
            await self.workers.stop()
            await self.close()

    async def _adopt(self) -> None:
        runtime = self.ctx.runtime
        for sandbox in await runtime.list_pod_sandboxes():
            ip, uid = sandbox.annotations.get(POD_IP_ANNOTATION), sandbox.labels.get(POD_UID_LABEL)
            if ip and uid and sandbox.ready:
                self.ctx.addresses.claim(uid, ip)
        pods = self.informer.indexer.list()
        self._adopted = True  # from here on, events go straight to the workers
        for pod in pods:
            if pod.get("status"):
                self.ctx.statuses.seed(str(pod["metadata"]["uid"]), pod["status"])
            self.workers.update(pod)
        removed = await self.workers.remove_orphans({str(p["metadata"]["uid"]) for p in pods})
        log.info("node %s: %d pods adopted, %d orphaned pods removed",
                 self.ctx.config.node_name, len(pods), removed)

    async def stop_pods(self, *, max_grace: float) -> int:
        """Stop every running container of this node, as a node shutdown does; how many.

        For ``steersman up``'s Ctrl-C: the workers stop first (so nothing restarts a
        container), then each container gets its preStop hook and SIGTERM with its pod's
        grace period (at most ``max_grace`` seconds), all at once, then SIGKILL. Sandboxes
        and records stay: the next start adopts them and restarts what the pods' restart
        policies say.
        """
        await self.workers.stop()
        pods = {str(p["metadata"]["uid"]): p for p in self.informer.indexer.list()}
        running = [c for c in await self.ctx.runtime.list_containers()
                   if c.state is ContainerState.RUNNING]
        await asyncio.gather(*(self._stop_one(c, pods.get(c.labels.get(POD_UID_LABEL, "")),
                                              max_grace) for c in running))
        return len(running)

    async def _stop_one(self, instance: ContainerStatus, pod: Object | None,
                        max_grace: float) -> None:
        pod_spec = (pod or {}).get("spec") or {}
        containers = [*(pod_spec.get("initContainers") or []), *(pod_spec.get("containers") or [])]
        spec = next((c for c in containers if c.get("name") == instance.name), None)
        grace = min(termination_grace(pod), max_grace) if pod is not None else max_grace
        ip = str(((pod or {}).get("status") or {}).get("podIP") or "")
        try:
            await stop_container(self.ctx, instance, spec, grace=grace, pod_ip=ip)
        except Exception:  # one container's failure must not keep the others running
            log.exception("cannot stop container %s", instance.id)

    def _seen(self, pod: Object) -> None:
        if self._adopted:
            self.workers.update(pod)

    def _gone(self, pod: Object) -> None:
        if self._adopted:
            self.workers.remove(pod)
