"""The scheduler as a cluster component: informers in, API writes out, one leader at a time.

:class:`SchedulerService` wires the pure :class:`~steersman.scheduler.scheduler.Scheduler`
to the API through :mod:`steersman.client`, as kube-scheduler's ``app`` does:

* informers on pods (all of them: pending pods feed the queue, assigned ones the cache),
  nodes, namespaces, PodDisruptionBudgets, PersistentVolumeClaims, PersistentVolumes and
  StorageClasses, through the filtering adapters of :mod:`.informer_handlers`;
* :class:`~.binder.ClientBinder` for bindings, conditions and preemption (at most
  ``max_binds_in_flight`` requests at a time, while the loop keeps scheduling on its
  assumed cache) and :class:`~.recorder.ClientEventRecorder` for events;
* leader election on the Lease ``kube-system/kube-scheduler``: only the holder schedules.
  Each term builds a fresh scheduler and waits for every informer to sync before the
  first decision, so no pod is placed on a partial view of the cluster.

The composition layer (``steersman.server.components``) creates it with its own client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from steersman.client import (
    NAMESPACES,
    NODES,
    PDBS,
    PODS,
    PVCS,
    PVS,
    STORAGECLASSES,
    Client,
    Informer,
    Resource,
)
from steersman.client.leaderelection import ElectionSettings, run_elected
from steersman.scheduler.binder import DEFAULT_MAX_IN_FLIGHT, ClientBinder
from steersman.scheduler.informer_handlers import NodeEvents, PodEvents
from steersman.scheduler.plugins.registry import default_profile
from steersman.scheduler.recorder import ClientEventRecorder
from steersman.scheduler.scheduler import Scheduler

log = logging.getLogger(__name__)
Object = dict[str, Any]
DEFAULT_SCHEDULER_NAME = "default-scheduler"


def scheduler_election(*, enabled: bool = True) -> ElectionSettings:
    return ElectionSettings(lease_name="kube-scheduler", enabled=enabled)


class SchedulerService:
    """Runs one scheduler profile against the API server; ``await run()`` until cancelled."""

    def __init__(self, client: Client, *, scheduler_name: str = DEFAULT_SCHEDULER_NAME,
                 leader_election: ElectionSettings | None = None,
                 max_binds_in_flight: int = DEFAULT_MAX_IN_FLIGHT, seed: int = 0) -> None:
        self._client = client
        self._scheduler_name = scheduler_name
        self._election = leader_election or scheduler_election()
        self._max_binds_in_flight = max_binds_in_flight
        self._seed = seed
        self.scheduler: Scheduler | None = None
        self.recorder: ClientEventRecorder | None = None
        self.leading = asyncio.Event()

    async def run(self) -> None:
        await run_elected(self._client, self._election, self._lead,
                          on_stopped_leading=self.leading.clear)

    async def _lead(self) -> None:
        """One term: fresh informers and scheduler, synced before the first decision."""
        pods = Informer(self._client, PODS)
        self.recorder = ClientEventRecorder(self._client, component=self._scheduler_name)
        binder = ClientBinder(self._client, scheduler_name=self._scheduler_name,
                              current_pod=pods.indexer.get,
                              max_in_flight=self._max_binds_in_flight)
        scheduler = self.scheduler = Scheduler(
            binder=binder, recorder=self.recorder, seed=self._seed, claims=binder,
            profile=default_profile(scheduler_name=self._scheduler_name))
        informers = [pods, *self._other_informers(scheduler)]
        _connect(pods, PodEvents(scheduler))
        tasks = [asyncio.create_task(informer.run(), name=f"scheduler-{informer.resource.plural}")
                 for informer in informers]
        tasks.append(asyncio.create_task(self.recorder.run(), name="scheduler-events"))
        try:
            await asyncio.gather(*(informer.wait_synced() for informer in informers))
            self.leading.set()
            log.info("%s: informers synced, scheduling", self._scheduler_name)
            await _run(scheduler)
        finally:
            self.leading.clear()
            await _cancel(tasks)

    def _other_informers(self, scheduler: Scheduler) -> list[Informer]:
        nodes = Informer(self._client, NODES)
        _connect(nodes, NodeEvents(scheduler))
        namespaces = Informer(self._client, NAMESPACES)
        namespaces.add_handlers(
            on_add=scheduler.on_namespace_update,
            on_update=lambda _old, new: scheduler.on_namespace_update(new),
            on_delete=scheduler.on_namespace_delete)
        budgets = Informer(self._client, PDBS)
        budgets.add_handlers(
            on_add=scheduler.on_pdb_update,
            on_update=lambda _old, new: scheduler.on_pdb_update(new),
            on_delete=scheduler.on_pdb_delete)
        return [nodes, namespaces, budgets, *_volume_informers(self._client, scheduler)]


def _volume_informers(client: Client, scheduler: Scheduler) -> list[Informer]:
    """Claims, volumes and classes for the VolumeBinding plugin."""
    handlers: list[tuple[Resource, Callable[[Object], None], Callable[[Object], None]]] = [
        (PVCS, scheduler.on_claim_update, scheduler.on_claim_delete),
        (PVS, scheduler.on_volume_update, scheduler.on_volume_delete),
        (STORAGECLASSES, scheduler.on_storage_class_update, scheduler.on_storage_class_delete)]
    informers = []
    for resource, on_update, on_delete in handlers:
        informer = Informer(client, resource)
        informer.add_handlers(on_add=on_update, on_update=_newest(on_update),
                              on_delete=on_delete)
        informers.append(informer)
    return informers


def _newest(handler: Callable[[Object], None]) -> Callable[[Object, Object], None]:
    return lambda _old, new: handler(new)


def _connect(informer: Informer, events: PodEvents | NodeEvents) -> None:
    informer.add_handlers(on_add=events.on_add, on_update=events.on_update,
                          on_delete=events.on_delete)


async def _run(scheduler: Scheduler) -> None:
    """The loop until cancelled; cancelling stops the queue so ``run`` returns cleanly."""
    try:
        await scheduler.run()
    finally:
        scheduler.stop()


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
