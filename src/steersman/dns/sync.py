"""Keeps a :class:`~steersman.dns.zone.Zone` equal to the cluster's Services, EndpointSlices
and Pods, through three informers.

Handlers do the work inline rather than through a work queue: rebuilding one Service's
records (or one Pod's) takes microseconds, and doing it on the event itself is what makes
answers follow a change within the watch latency. A Service and its slices are one owner
in the zone (``service:<ns>/<name>``), rebuilt from both caches on any event of either,
so the order in which the two informers deliver does not matter.
"""

from __future__ import annotations

import asyncio
from typing import Any

from steersman.client import ENDPOINTSLICES, PODS, SERVICES, Informer, key_of
from steersman.client.informer import ListerWatcher
from steersman.dns.records import (
    RecordBuilder,
    pod_records,
    service_key_of_slice,
    service_records,
)
from steersman.dns.zone import Zone

Object = dict[str, Any]
SERVICE_INDEX = "service"


def _by_service(endpoint_slice: Object) -> list[str]:
    key = service_key_of_slice(endpoint_slice)
    return [key] if key else []


class ZoneSync:
    """Informers on Services, EndpointSlices and Pods feeding one zone."""

    def __init__(self, client: ListerWatcher, zone: Zone, *,
                 builder: RecordBuilder | None = None, pods: bool = True) -> None:
        self.zone = zone
        self._builder = builder or RecordBuilder()
        self.services = Informer(client, SERVICES)
        self.slices = Informer(client, ENDPOINTSLICES, indexers={SERVICE_INDEX: _by_service})
        self.pods = Informer(client, PODS) if pods else None
        self.services.add_handlers(on_add=self._service_changed,
                                   on_update=lambda _old, new: self._service_changed(new),
                                   on_delete=self._service_changed)
        self.slices.add_handlers(on_add=self._slice_changed,
                                 on_update=self._slice_moved,
                                 on_delete=self._slice_changed)
        if self.pods is not None:
            self.pods.add_handlers(on_add=self._pod_changed,
                                   on_update=lambda _old, new: self._pod_changed(new),
                                   on_delete=self._pod_deleted)

    def _informers(self) -> list[Informer]:
        return [self.services, self.slices] + ([self.pods] if self.pods else [])

    async def run(self) -> None:
        """Run the informers until cancelled."""
        async with asyncio.TaskGroup() as group:
            for informer in self._informers():
                group.create_task(informer.run())

    async def wait_synced(self) -> None:
        for informer in self._informers():
            await informer.wait_synced()

    def sync_service(self, key: str) -> None:
        """Rebuild the records of the Service ``namespace/name`` from the caches."""
        service = self.services.indexer.get(key)
        records = {}
        if service is not None:
            slices = self.slices.indexer.by_index(SERVICE_INDEX, key)
            records = service_records(service, slices, domain=self.zone.origin,
                                      builder=self._builder)
        self.zone.replace(f"service:{key}", records)

    def _service_changed(self, service: Object) -> None:
        self.sync_service(key_of(service))

    def _slice_changed(self, endpoint_slice: Object) -> None:
        key = service_key_of_slice(endpoint_slice)
        if key is not None:
            self.sync_service(key)

    def _slice_moved(self, old: Object, new: Object) -> None:
        old_key, new_key = service_key_of_slice(old), service_key_of_slice(new)
        if old_key is not None and old_key != new_key:
            self.sync_service(old_key)
        self._slice_changed(new)

    def _pod_changed(self, pod: Object) -> None:
        records = pod_records(pod, domain=self.zone.origin, builder=self._builder)
        self.zone.replace(f"pod:{key_of(pod)}", records)

    def _pod_deleted(self, pod: Object) -> None:
        self.zone.replace(f"pod:{key_of(pod)}", {})
