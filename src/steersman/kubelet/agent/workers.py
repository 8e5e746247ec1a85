"""The pod workers of one node: one task per pod, and the clean-up of what no pod owns.

:class:`PodWorkers` turns informer events into worker calls — a new UID starts a
:class:`~.pod_worker.PodWorker` task, an update replaces the pod that worker syncs next,
a delete tells it the pod is gone — so each pod is only ever acted on by its own task and
pods proceed in parallel (STYLE rule 6). When a worker's task ends (its pod terminated),
it is dropped. :meth:`PodWorkers.remove_orphans` stops and removes the sandboxes and
containers of pods that no longer exist (deleted while the agent was down).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from typing import Any

from steersman.kubelet.agent.context import AgentContext
from steersman.kubelet.agent.pod_runtime import PodRuntime
from steersman.kubelet.agent.pod_worker import PodWorker
from steersman.kubelet.agent.view import pod_views

log = logging.getLogger(__name__)
Object = dict[str, Any]


class PodWorkers:
    """One :class:`PodWorker` task per pod UID."""

    def __init__(self, ctx: AgentContext) -> None:
        self._ctx = ctx
        self._workers: dict[str, PodWorker] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def __contains__(self, uid: object) -> bool:
        return uid in self._workers

    def __len__(self) -> int:
        return len(self._workers)

    def update(self, pod: Object) -> None:
        """Hand the newest ``pod`` to its worker, starting one for a new UID."""
        uid = str(pod["metadata"]["uid"])
        worker = self._workers.get(uid)
        if worker is not None:
            worker.update(pod)
            return
        worker = PodWorker(self._ctx, pod)
        self._workers[uid] = worker
        task = asyncio.create_task(worker.run(), name=f"pod-worker {uid}")
        self._tasks[uid] = task
        task.add_done_callback(lambda done: self._finished(uid, done))

    def remove(self, pod: Object) -> None:
        """The pod vanished from the API (force-deleted, or deleted while unobserved)."""
        worker = self._workers.get(str(pod["metadata"]["uid"]))
        if worker is not None:
            worker.remove()

    async def remove_orphans(self, known: Collection[str]) -> int:
        """Remove the runtime state of pods neither ``known`` nor worked on; how many."""
        runtime = self._ctx.runtime
        views = pod_views(await runtime.list_pod_sandboxes(), await runtime.list_containers())
        orphans = [uid for uid in views if uid not in known and uid not in self._workers]
        for uid in orphans:
            log.info("removing containers of pod %s, deleted while unobserved", uid)
            for instance in views[uid].running():
                await runtime.stop_container(instance.id, 0)
            await PodRuntime(self._ctx, uid).remove_all()
        return len(orphans)

    async def stop(self) -> None:
        """Cancel every worker (the containers keep running: a restart adopts them)."""
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    def _finished(self, uid: str, task: asyncio.Task[None]) -> None:
        self._workers.pop(uid, None)
        self._tasks.pop(uid, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("worker of pod %s failed", uid, exc_info=task.exception())
