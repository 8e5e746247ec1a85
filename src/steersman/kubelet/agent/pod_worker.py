"""One pod's worker: the asyncio task that alone acts on that pod (STYLE rule 6).

It is fed through a one-slot mailbox: :meth:`PodWorker.update` replaces the pod it will
sync next (updates coalesce to the latest) and wakes it; probes and back-off timers wake
it too, and it resyncs every ``resync_interval`` (the kubelet's PLEG relist) to notice
exits. Each sync reads the runtime, asks :func:`~.sync.compute_pod_actions` what to do,
does it, and hands the resulting status to the :class:`~.status_manager.StatusManager`.
A pod with ``deletionTimestamp`` (or gone from the API) is terminated — preStop, TERM,
KILL at the end of the grace — its sandbox, containers and volumes removed, and the pod
object deleted with grace 0 and a UID precondition; then the task ends.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from steersman.api.errors import StatusError
from steersman.api.meta import now_rfc3339
from steersman.client import PODS, ServerUnreachable
from steersman.kubelet.agent.containers import HookFailed, stop_container, termination_grace
from steersman.kubelet.agent.context import AgentContext
from steersman.kubelet.agent.downward import ContainerConfigError
from steersman.kubelet.agent.pod_runtime import PodRuntime
from steersman.kubelet.agent.probes import ContainerProbes
from steersman.kubelet.agent.status import StatusInputs, Waiting, pod_status
from steersman.kubelet.agent.sync import PodActions, compute_pod_actions
from steersman.kubelet.agent.view import PodView

log = logging.getLogger(__name__)
Object = dict[str, Any]
_TERMINAL = ("Succeeded", "Failed")


class PodWorker:
    """Syncs one pod until it is deleted."""

    def __init__(self, ctx: AgentContext, pod: Object) -> None:
        self._ctx = ctx
        self._pod = pod
        self._uid = str(pod["metadata"]["uid"])
        self._wake = asyncio.Event()
        self._removed = False
        self._probes: dict[str, ContainerProbes] = {}
        self._waiting: dict[str, Waiting] = {}
        self._settled: tuple[object, ...] | None = None
        self._runtime = PodRuntime(ctx, self._uid)
        self._seed = {str(s.get("containerID") or ""): s for s in
                      (pod.get("status") or {}).get("containerStatuses") or []}

    @property
    def pod(self) -> Object:
        return self._pod

    def update(self, pod: Object) -> None:
        self._pod = pod
        self._wake.set()

    def remove(self) -> None:
        """The pod is gone from the API: stop everything, write and delete nothing."""
        self._removed = True
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        try:
            while not self._terminating():
                await self._wait(await self._sync_safely())
            await self._terminate()
        finally:
            for probes in self._probes.values():
                probes.stop()

    def _terminating(self) -> bool:
        return self._removed or bool(self._pod["metadata"].get("deletionTimestamp"))

    async def _sync_safely(self) -> float:
        try:
            return await self._sync()
        except (StatusError, ServerUnreachable, OSError) as err:
            log.warning("sync of pod %s failed: %s", self._key(), err)
            return self._ctx.config.resync_interval * 5

    async def _sync(self) -> float:
        view = await self._runtime.view()
        if (self._pod.get("status") or {}).get("phase") in _TERMINAL and not view.running():
            return self._ctx.config.resync_interval * 10
        if view.sandbox_ready:
            await self._runtime.resume_network(self._pod)
        settled = self._fingerprint(view)
        if settled == self._settled:
            # Nothing the last sync looked at has changed: no action, no new status.
            if view.sandbox_ready:
                await self._refresh_volumes()
            return self._ctx.config.resync_interval
        self._prune_probes(view)
        if view.sandbox_ready:
            await self._refresh_volumes()
        actions = compute_pod_actions(self._pod, view, unhealthy=self._unhealthy(),
                                      backoff=self._backoff_left)
        self._waiting = {}
        if not actions.idle or actions.finished:
            await self._act(actions, view)
            view = await self._runtime.view()
        self._backoff_waiting(actions)
        self._ensure_probes(view)
        self._publish(view)
        steady = actions.idle and not (actions.finished or actions.backoff or self._waiting)
        self._settled = self._fingerprint(view) if steady else None
        return min([self._ctx.config.resync_interval, *actions.backoff.values()])

    def _fingerprint(self, view: PodView) -> tuple[object, ...]:
        """What a sync's outcome depends on besides the clock: the pod, the runtime's view
        and the probes' verdicts."""
        probes = tuple((cid, p.ready, p.started, p.unhealthy)
                       for cid, p in sorted(self._probes.items()))
        return (self._pod["metadata"].get("resourceVersion"), view, probes)

    async def _act(self, actions: PodActions, view: PodView) -> None:
        if actions.finished:
            await self._runtime.stop_sandbox(view)
            return
        try:
            if actions.create_sandbox:
                view = await self._runtime.create_sandbox(self._pod, view)
            await self._runtime.refresh_volumes(self._pod)
        except ContainerConfigError as err:
            self._all_waiting(err)
            return
        for container_id, reason in actions.kill.items():
            await self._kill(view, container_id, reason)
        for name in actions.start:
            await self._start(name, view)

    async def _refresh_volumes(self) -> None:
        try:
            await self._runtime.refresh_volumes(self._pod)
        except ContainerConfigError as err:
            log.warning("volumes of pod %s not refreshed: %s", self._key(), err.message)

    async def _start(self, name: str, view: PodView) -> None:
        try:
            await self._runtime.start(self._pod, name, view)
        except ContainerConfigError as err:
            self._waiting[name] = Waiting(err.reason, err.message)
        except HookFailed as err:
            self._waiting[name] = Waiting("PostStartHookError", str(err))

    async def _kill(self, view: PodView, container_id: str, reason: str) -> None:
        probes = self._probes.pop(container_id, None)
        if probes is not None:
            probes.stop()
        instance = next((c for c in view.all() if c.id == container_id), None)
        if instance is None:
            return
        log.info("killing container %s of %s: %s", instance.name, self._key(), reason)
        spec = self._runtime.container_spec(self._pod, instance.name)
        await stop_container(self._ctx, instance, spec, grace=termination_grace(self._pod),
                             pod_ip=self._runtime.pod_ip)

    def _backoff_waiting(self, actions: PodActions) -> None:
        for name, _remaining in actions.backoff.items():
            delay = self._ctx.backoff.current_delay(f"{self._uid}/{name}")
            self._waiting[name] = Waiting(
                "CrashLoopBackOff", f"back-off {delay:g}s restarting failed container={name} "
                f"pod={self._pod['metadata']['name']}_{self._pod['metadata']['namespace']}"
                f"({self._uid})")

    def _all_waiting(self, err: ContainerConfigError) -> None:
        spec = self._pod.get("spec") or {}
        for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
            self._waiting[str(container["name"])] = Waiting(err.reason, err.message)

    def _backoff_left(self, name: str, finished_at: float) -> float:
        return self._ctx.backoff.remaining(f"{self._uid}/{name}", finished_at=finished_at)

    def _unhealthy(self) -> set[str]:
        return {cid for cid, probes in self._probes.items() if probes.unhealthy}

    def _ensure_probes(self, view: PodView) -> None:
        for instance in view.running():
            if instance.id in self._probes:
                continue
            spec = self._runtime.container_spec(self._pod, instance.name)
            if spec is None:
                continue
            seeded = self._seed.get(self._runtime.container_id(instance.id)) or {}
            self._probes[instance.id] = ContainerProbes(
                spec, self._runtime.target(instance.id, spec), clock=self._ctx.clock,
                on_change=self.wake, ready=bool(seeded.get("ready")),
                started=bool(seeded.get("started")))

    def _prune_probes(self, view: PodView) -> None:
        running = {c.id for c in view.running()}
        for container_id in [cid for cid in self._probes if cid not in running]:
            self._probes.pop(container_id).stop()

    def _publish(self, view: PodView) -> None:
        self._ctx.statuses.set(self._pod, pod_status(self._pod, self._status_inputs(view)))

    def _status_inputs(self, view: PodView) -> StatusInputs:
        ready = {cid: p.ready for cid, p in self._probes.items()}
        started = {cid: p.started for cid, p in self._probes.items()}
        return StatusInputs(view=view, runtime_name=self._ctx.runtime.name,
                            host_ip=self._ctx.config.node_ip, pod_ip=self._runtime.pod_ip,
                            now=now_rfc3339(self._ctx.clock.now()), ready=ready,
                            started=started, waiting=dict(self._waiting))

    async def _wait(self, seconds: float) -> None:
        sleeper = asyncio.ensure_future(self._ctx.clock.sleep(seconds))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waker.cancel()
        self._wake.clear()

    async def _terminate(self) -> None:
        view = await self._runtime.view()
        grace = termination_grace(self._pod)
        for probes in self._probes.values():
            probes.stop()
        self._probes.clear()
        await asyncio.gather(*(
            stop_container(self._ctx, c, self._runtime.container_spec(self._pod, c.name),
                           grace=grace, pod_ip=self._runtime.pod_ip) for c in view.running()))
        if not self._removed:
            self._publish(await self._runtime.view())
            await self._ctx.statuses.flush()
        await self._runtime.remove_all()
        if not self._removed:
            await self._delete()
        self._ctx.statuses.forget(self._uid)

    async def _delete(self) -> None:
        metadata = self._pod["metadata"]
        try:
            await self._ctx.client.delete(PODS, str(metadata["name"]),
                                          namespace=str(metadata["namespace"]),
                                          grace_period_seconds=0,
                                          preconditions={"uid": self._uid})
        except StatusError as err:
            if err.code not in (404, 409):
                raise
        log.info("pod %s terminated and deleted", self._key())

    def _key(self) -> str:
        return f"{self._pod['metadata']['namespace']}/{self._pod['metadata']['name']}"

