"""The scheduling loop, fed informer events, with all I/O injected.

``Scheduler`` owns the queue, the cache and one profile's framework. Informer handlers
(``on_pod_add`` …) only update the cache and the queue. :meth:`Scheduler.run` pops a pod,
decides synchronously (:mod:`.schedule_one`), *assumes* it on the chosen node, and binds in
a background task so the next cycle starts at once. Cycles run back to back for up to
``BURST_SECONDS`` before the loop gets a turn: one cycle per turn would tie the scheduler's
rate to how often a busy API server's event loop comes round (a few hundred times a second
under load), while upstream's scheduler runs in a goroutine of its own. Every write goes through the
:class:`Binder`; events through the :class:`EventRecorder`. Nothing here opens a socket.

Failures: a pod that fits nowhere gets a ``FailedScheduling`` Warning event and a
``PodScheduled=False/Unschedulable`` condition carrying upstream's message, then waits in
the queue for a cluster event. If preemption found room, the victims are deleted and the
pod's ``status.nominatedNodeName`` is set in that same status write. A failed binding
forgets the assumed pod and retries it with back-off.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Mapping
from typing import Any, Protocol

from steersman.scheduler.cache import SchedulerCache
from steersman.scheduler.clock import Clock, MonotonicClock
from steersman.scheduler.framework.fit_error import FitError
from steersman.scheduler.framework.interface import CycleState, PostFilterResult
from steersman.scheduler.framework.runtime import Framework, SchedulingError
from steersman.scheduler.framework.types import NodeInfo, PodInfo
from steersman.scheduler.nominator import Nominator
from steersman.scheduler.plugins.registry import Profile, build_framework, default_profile
from steersman.scheduler.queue import QueuedPod, SchedulingQueue
from steersman.scheduler.schedule_one import Algorithm, ScheduleResult

log = logging.getLogger(__name__)
FLUSH_INTERVAL = 1.0
BURST_SECONDS = 0.005
POD_AFFINITY_PLUGINS = frozenset({"InterPodAffinity", "PodTopologySpread"})
VOLUME_PLUGINS = frozenset({"VolumeBinding"})
Pod = Mapping[str, Any]


class Binder(Protocol):
    """The scheduler's writes to the API (implemented over ``steersman.client``)."""

    async def bind(self, pod: Pod, node_name: str) -> None:
        """POST the pod's ``binding`` subresource; raise on failure."""
        ...

    async def set_unschedulable(self, pod: Pod, *, message: str,
                                nominated_node_name: str | None = None) -> None:
        """Patch status: ``PodScheduled=False`` reason ``Unschedulable`` with ``message``;
        set ``status.nominatedNodeName`` when given."""
        ...

    async def delete_victim(self, victim: Pod, *, preemptor: Pod, node_name: str) -> None:
        """Evict a preemption victim (mark ``DisruptionTarget``, then delete it)."""
        ...


class ClaimWriter(Protocol):
    """The VolumeBinding plugin's one write (implemented by :class:`~.binder.ClientBinder`)."""

    async def select_node(self, claim: Pod, node_name: str) -> None:
        """Annotate the claim with ``volume.kubernetes.io/selected-node: node_name``."""
        ...


class EventRecorder(Protocol):
    """Records a core/v1 Event; must not block (implementations buffer and send later)."""

    def event(self, obj: Pod, type: str, reason: str, message: str) -> None: ...


class _Handle:
    """The framework handle plugins see: run filters (preemption), annotate claims, bind."""

    def __init__(self, binder: Binder, claims: ClaimWriter | None) -> None:
        self._binder = binder
        self._claims = claims
        self.framework: Framework | None = None

    def run_filters(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Any:
        assert self.framework is not None
        return self.framework.run_filters(state, pod, node)

    async def bind(self, pod: Pod, node_name: str) -> None:
        await self._binder.bind(pod, node_name)

    async def select_node(self, claim: Pod, node_name: str) -> None:
        if self._claims is None:
            raise RuntimeError("this scheduler was built without a claim writer: it cannot "
                               "provision volumes that wait for their first consumer")
        await self._claims.select_node(claim, node_name)


class Scheduler:
    """One scheduler profile's loop. Feed it events; ``await run()``."""

    def __init__(self, *, binder: Binder, recorder: EventRecorder,
                 profile: Profile | None = None, clock: Clock | None = None, seed: int = 0,
                 assumed_ttl: float | None = None, claims: ClaimWriter | None = None) -> None:
        self.profile = profile or default_profile()
        self.clock: Clock = clock or MonotonicClock()
        self.binder = binder
        self.recorder = recorder
        handle = _Handle(binder, claims)
        self.framework = handle.framework = build_framework(self.profile, handle)
        self.cache = SchedulerCache(assumed_ttl=assumed_ttl)
        self.queue = SchedulingQueue(sort_key=self.framework.queue_sort.sort_key,
                                     clock=self.clock)
        self.nominator = Nominator()
        self._algorithm = Algorithm(self.framework, rng=random.Random(seed))
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopped = False

    # Informer events ---------------------------------------------------------------------

    def on_pod_add(self, pod: Pod) -> None:
        info = PodInfo(pod)
        if info.node_name:
            self._assigned_pod(info, moved=POD_AFFINITY_PLUGINS)
        elif self.cache.is_assumed(info.uid):
            return  # our binding is in flight; the informer has not seen it yet
        elif self._responsible(info) and not info.deleting:
            self.queue.add(info)
            self.nominator.update(info)

    def on_pod_update(self, pod: Pod) -> None:
        info = PodInfo(pod)
        if info.node_name:
            self._assigned_pod(info, moved=None)
        elif self.cache.is_assumed(info.uid):
            return  # our binding is in flight; the informer has not seen it yet
        elif self._responsible(info):
            if info.deleting:
                self._forget_pending(info.uid)
            else:
                self.queue.update(info)
                self.nominator.update(info)

    def on_pod_delete(self, pod: Pod) -> None:
        info = PodInfo(pod)
        self._forget_pending(info.uid)
        if self.cache.pod(info.uid) is not None:
            self.cache.remove_pod(info.uid)
            self.queue.move_all()  # freed room may fit a parked pod

    def on_node_add(self, node: Pod) -> None:
        self.cache.add_node(node)
        self.queue.move_all()

    on_node_update = on_node_add

    def on_node_delete(self, node: Pod) -> None:
        self.cache.remove_node(str((node.get("metadata") or {}).get("name")))

    def on_namespace_update(self, namespace: Pod) -> None:
        meta = namespace.get("metadata") or {}
        self.cache.namespaces[str(meta.get("name"))] = meta.get("labels") or {}

    def on_namespace_delete(self, namespace: Pod) -> None:
        self.cache.namespaces.pop(str((namespace.get("metadata") or {}).get("name")), None)

    def on_pdb_update(self, pdb: Pod) -> None:
        meta = pdb.get("metadata") or {}
        self.cache.budgets[f"{meta.get('namespace')}/{meta.get('name')}"] = pdb

    def on_pdb_delete(self, pdb: Pod) -> None:
        meta = pdb.get("metadata") or {}
        self.cache.budgets.pop(f"{meta.get('namespace')}/{meta.get('name')}", None)

    def on_claim_update(self, claim: Pod) -> None:
        meta = claim.get("metadata") or {}
        self.cache.claims[f"{meta.get('namespace')}/{meta.get('name')}"] = claim
        self.queue.move_all(plugins=VOLUME_PLUGINS)

    def on_claim_delete(self, claim: Pod) -> None:
        meta = claim.get("metadata") or {}
        self.cache.claims.pop(f"{meta.get('namespace')}/{meta.get('name')}", None)

    def on_volume_update(self, volume: Pod) -> None:
        self.cache.volumes[str((volume.get("metadata") or {}).get("name"))] = volume
        self.queue.move_all(plugins=VOLUME_PLUGINS)

    def on_volume_delete(self, volume: Pod) -> None:
        self.cache.volumes.pop(str((volume.get("metadata") or {}).get("name")), None)

    def on_storage_class_update(self, storage_class: Pod) -> None:
        name = str((storage_class.get("metadata") or {}).get("name"))
        self.cache.storage_classes[name] = storage_class
        self.queue.move_all(plugins=VOLUME_PLUGINS)

    def on_storage_class_delete(self, storage_class: Pod) -> None:
        self.cache.storage_classes.pop(str((storage_class.get("metadata") or {}).get("name")),
                                       None)

    def _responsible(self, info: PodInfo) -> bool:
        return info.scheduler_name == self.profile.scheduler_name

    def _assigned_pod(self, info: PodInfo, *, moved: frozenset[str] | None) -> None:
        self._forget_pending(info.uid)
        confirming = self.cache.is_assumed(info.uid)
        self.cache.add_pod(info)  # confirms an assumed pod
        if not confirming:  # our own binding coming back changes nothing for parked pods
            self.queue.move_all(plugins=moved)

    def _forget_pending(self, uid: str) -> None:
        self.queue.delete(uid)
        self.nominator.remove(uid)

    # The loop ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Schedule until :meth:`stop`; flushes the back-off queue every second."""
        flusher = asyncio.create_task(self._flush_loop())
        try:
            while not self._stopped:
                queued = await self.queue.pop()
                if queued is None:
                    break
                self._burst(queued)
                await asyncio.sleep(0)  # let informer events and bindings run
        finally:
            flusher.cancel()

    def _burst(self, queued: QueuedPod | None) -> None:
        """Cycles from ``queued`` on, while pods are ready, for up to ``BURST_SECONDS``."""
        deadline = time.perf_counter() + BURST_SECONDS
        while queued is not None:
            self.schedule_one(queued)
            if self._stopped or time.perf_counter() >= deadline:
                return
            queued = self.queue.pop_nowait()

    def stop(self) -> None:
        self._stopped = True
        self.queue.close()

    async def run_until_idle(self) -> None:
        """Schedule everything in activeQ and await the bindings (tests, benchmarks)."""
        while True:
            queued = self.queue.pop_nowait()
            if queued is not None:
                self.schedule_one(queued)
                if len(self._tasks) >= 256:
                    await asyncio.sleep(0)
            elif self._tasks:
                await asyncio.gather(*list(self._tasks))
            else:
                return

    async def _flush_loop(self) -> None:
        while True:
            await self.clock.sleep(FLUSH_INTERVAL)
            self.queue.flush()
            for pod in self.cache.cleanup_expired(now=self.clock.now()):
                log.warning("assumed pod %s expired before its binding was seen", pod.key)

    def schedule_one(self, queued: QueuedPod) -> None:
        """One synchronous scheduling cycle for a popped pod."""
        pod = queued.info
        if pod.deleting or pod.uid not in self.queue or self.cache.pod(pod.uid) is not None:
            self.queue.delete(pod.uid)
            return
        cycle = self.queue.scheduling_cycle
        state = CycleState(self.cache.snapshot())
        try:
            if pod.parse_error:
                raise SchedulingError(pod.parse_error)
            result = self._algorithm.schedule(state, pod, self.nominator.by_node)
        except SchedulingError as exc:
            self._failed(queued, str(exc), cycle=cycle, error=True)
            return
        if isinstance(result, FitError):
            self._unschedulable(state, queued, result, cycle)
        else:
            self._assume_and_bind(state, queued, result)

    def _assume_and_bind(self, state: CycleState, queued: QueuedPod,
                         result: ScheduleResult) -> None:
        pod, node_name = queued.info, result.node_name
        pod.node_name = node_name
        self.cache.assume_pod(pod, node_name)
        status = self.framework.run_reserve(state, pod, node_name)
        if not status.is_success:
            self._forget(pod)
            self._failed(queued, status.message(), cycle=self.queue.scheduling_cycle, error=True)
            return
        self.queue.done(pod.uid)
        self.nominator.remove(pod.uid)
        self._spawn(self._bind(state, queued, node_name))

    async def _bind(self, state: CycleState, queued: QueuedPod, node_name: str) -> None:
        pod = queued.info
        status = await self.framework.run_pre_bind(state, pod, node_name)
        if status.is_success:
            status = await self.framework.run_bind(state, pod, node_name)
        if status.is_success:
            self.cache.finish_binding(pod.uid, now=self.clock.now())
            self.recorder.event(pod.pod, "Normal", "Scheduled",
                                f"Successfully assigned {pod.key} to {node_name}")
            return
        self.framework.run_unreserve(state, pod, node_name)
        self._forget(pod)
        self.queue.requeue_backoff(queued)
        self.queue.move_all()  # the room it held is free again
        self.recorder.event(pod.pod, "Warning", "FailedScheduling", status.message())

    def _forget(self, pod: PodInfo) -> None:
        self.cache.forget_pod(pod.uid)
        pod.node_name = ""

    def _unschedulable(self, state: CycleState, queued: QueuedPod, fit: FitError,
                       cycle: int) -> None:
        pod = queued.info
        preemption: PostFilterResult | None = None
        if self.framework.post_filters:
            preemption, status = self.framework.run_post_filter(state, pod, fit.statuses)
            fit.post_filter_message = "" if status.is_success else status.message()
        nominated = preemption.nominated_node_name if preemption else None
        if preemption is not None and nominated:
            self._preempt(pod, nominated, preemption)
        rejected_by = {s.plugin for s in fit.statuses.values() if s.plugin}
        self._failed(queued, fit.message(), cycle=cycle, error=False,
                     rejected_by=rejected_by, nominated=nominated)

    def _preempt(self, pod: PodInfo, node_name: str, result: PostFilterResult) -> None:
        pod.nominated_node_name = node_name
        self.nominator.update(pod)
        for victim in result.victims:
            self.recorder.event(victim.pod, "Normal", "Preempted",
                                f"Preempted by pod {pod.uid} on node {node_name}")
            self._spawn(self.binder.delete_victim(victim.pod, preemptor=pod.pod,
                                                  node_name=node_name))

    def _failed(self, queued: QueuedPod, message: str, *, cycle: int, error: bool,
                rejected_by: set[str] | None = None, nominated: str | None = None) -> None:
        pod = queued.info
        self.recorder.event(pod.pod, "Warning", "FailedScheduling", message)
        if error:
            self.queue.requeue_backoff(queued)
        else:
            self.queue.requeue_unschedulable(queued, cycle=cycle, rejected_by=rejected_by or ())
        self._spawn(self.binder.set_unschedulable(pod.pod, message=message,
                                                  nominated_node_name=nominated))

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("scheduler API call failed: %s", task.exception())
