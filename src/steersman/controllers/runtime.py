"""The controller harness: shared informers, a work queue of keys, and reconcile workers.

:class:`InformerFactory` hands out one informer per (resource, namespace, selector) so that
controllers watching the same resource share a cache. :class:`QueueController` is the base
of every controller: subclasses register handlers in ``setup`` (handlers only enqueue keys)
and implement ``reconcile(key)``, which may return seconds after which to look again.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from steersman.client import Client, Clock, IndexFunc, Informer, Resource, SystemClock, WorkQueue
from steersman.client import run_workers as run_queue_workers

log = logging.getLogger(__name__)
Object = dict[str, Any]


class InformerFactory:
    """Shared informers, started together once every controller has asked for its own."""

    def __init__(self, client: Client, *, clock: Clock | None = None) -> None:
        self.client = client
        self._clock = clock or SystemClock()
        self._informers: dict[tuple[Resource, str, str], Informer] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def informer(self, resource: Resource, *, namespace: str = "", label_selector: str = "",
                 indexers: Mapping[str, IndexFunc] | None = None) -> Informer:
        key = (resource, namespace, label_selector)
        informer = self._informers.get(key)
        if informer is None:
            informer = Informer(self.client, resource, namespace=namespace,
                                label_selector=label_selector, indexers=indexers,
                                clock=self._clock)
            self._informers[key] = informer
        elif indexers:
            for name, func in indexers.items():
                informer.indexer.add_index(name, func)
        return informer

    def start(self) -> None:
        for informer in self._informers.values():
            if not any(t.get_name() == _task_name(informer) for t in self._tasks):
                self._tasks.append(asyncio.create_task(informer.run(),
                                                       name=_task_name(informer)))

    async def discard(self, resource: Resource, *, namespace: str = "",
                      label_selector: str = "") -> None:
        """Stop and forget one informer, for a resource the server no longer serves (a
        deleted CRD's); asking for it again later creates a fresh one."""
        informer = self._informers.pop((resource, namespace, label_selector), None)
        if informer is None:
            return
        for task in [t for t in self._tasks if t.get_name() == _task_name(informer)]:
            self._tasks.remove(task)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def wait_synced(self) -> None:
        await asyncio.gather(*(i.wait_synced() for i in self._informers.values()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()


def _task_name(informer: Informer) -> str:
    return f"informer-{informer.resource.plural}-{id(informer)}"


def object_key(obj: Object) -> str:
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace") or ""
    return f"{namespace}/{meta.get('name', '')}" if namespace else str(meta.get("name", ""))


def split_key(key: str) -> tuple[str, str]:
    namespace, _, name = key.rpartition("/")
    return namespace, name


class QueueController(abc.ABC):
    """Base of a reconcile-by-key controller."""

    name = "controller"
    workers = 1

    def __init__(self, client: Client, *, clock: Clock | None = None) -> None:
        self.client = client
        self.clock = clock or SystemClock()
        self.queue: WorkQueue[str] = WorkQueue(clock=self.clock)

    @abc.abstractmethod
    def setup(self, factory: InformerFactory) -> None:
        """Ask the factory for informers and register handlers that enqueue keys."""

    def start_term(self) -> None:
        """A fresh queue for a new term of leadership (the old one was shut down)."""
        self.queue = WorkQueue(clock=self.clock)

    def enqueue(self, obj: Object) -> None:
        self.queue.add(object_key(obj))

    def enqueue_after(self, obj: Object, delay: float) -> None:
        self.queue.add_after(object_key(obj), delay)

    @abc.abstractmethod
    async def reconcile(self, key: str) -> float | None:
        """Drive the object named by ``key`` towards its desired state; may ask to be
        looked at again after the returned number of seconds."""

    async def run(self) -> None:
        try:
            await run_queue_workers(self.queue, self.reconcile, workers=self.workers)
        finally:
            self.queue.shutdown()
