"""The EndpointSlice controller: discovery.k8s.io/v1 slices for every Service with a selector.

Keys are Services (``namespace/name``). Pod, Service, Node (zone) and slice events only
enqueue the Services they concern; ``reconcile`` reads the caches, asks
:mod:`.desired` what the endpoints should be and :mod:`.planner` which writes get there,
and performs them. A Service that is gone, lost its selector or became ExternalName has
its managed slices deleted. Only slices labelled ``managed-by: endpointslice-controller``
are ever touched.
"""

from __future__ import annotations

import logging
from typing import Any

from steersman.api.errors import StatusError
from steersman.client import (
    ENDPOINTSLICES,
    NAMESPACE_INDEX,
    NODE_NAME_INDEX,
    NODES,
    PODS,
    SERVICES,
    Client,
    Clock,
    Informer,
    by_node_name,
)
from steersman.controllers import service_backends as backends
from steersman.controllers.endpointslice.desired import ZONE_LABEL, desired_endpoints
from steersman.controllers.endpointslice.planner import (
    CONTROLLER_NAME,
    MANAGED_BY_LABEL,
    SERVICE_NAME_LABEL,
    SlicePlan,
    plan_slices,
)
from steersman.controllers.endpointslice.tracker import SliceTracker
from steersman.controllers.runtime import InformerFactory, QueueController, split_key

log = logging.getLogger(__name__)
Object = dict[str, Any]
SERVICE_INDEX = "serviceKey"
_CATCH_UP_DELAY = 0.2


def by_service_key(endpoint_slice: Object) -> list[str]:
    meta = endpoint_slice.get("metadata") or {}
    service = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
    return [f"{meta.get('namespace', '')}/{service}"] if service else []


class EndpointSliceController(QueueController):
    name = "endpointslice"
    workers = 4

    def __init__(self, client: Client, *, clock: Clock | None = None,
                 max_endpoints_per_slice: int = 100) -> None:
        super().__init__(client, clock=clock)
        self._max_endpoints = max_endpoints_per_slice
        self._tracker = SliceTracker()

    def setup(self, factory: InformerFactory) -> None:
        self._services = factory.informer(SERVICES)
        self._pods = factory.informer(PODS, indexers={NODE_NAME_INDEX: by_node_name})
        self._nodes = factory.informer(NODES)
        self._slices = factory.informer(
            ENDPOINTSLICES, label_selector=f"{MANAGED_BY_LABEL}={CONTROLLER_NAME}",
            indexers={SERVICE_INDEX: by_service_key})
        self._services.add_handlers(on_add=self.enqueue, on_update=lambda _, new: self.enqueue(new),
                                    on_delete=self.enqueue)
        self._pods.add_handlers(on_add=self._pod_changed, on_update=self._pod_updated,
                                on_delete=self._pod_changed)
        self._nodes.add_handlers(on_update=self._node_updated)
        self._slices.add_handlers(on_add=self._slice_changed,
                                  on_update=lambda _, new: self._slice_changed(new),
                                  on_delete=self._slice_changed)

    # ---- handlers: only enqueue ----------------------------------------------------------

    def _pod_changed(self, pod: Object) -> None:
        for service in _services_in(self._services, pod):
            if backends.selects(service, pod):
                self.enqueue(service)

    def _pod_updated(self, old: Object, new: Object) -> None:
        for service in _services_in(self._services, new):
            if backends.selects(service, old) or backends.selects(service, new):
                self.enqueue(service)

    def _node_updated(self, old: Object, new: Object) -> None:
        if _zone(old) != _zone(new):
            for pod in self._pods.indexer.by_index(NODE_NAME_INDEX, new["metadata"]["name"]):
                self._pod_changed(pod)

    def _slice_changed(self, endpoint_slice: Object) -> None:
        for key in by_service_key(endpoint_slice):
            self.queue.add(key)

    # ---- reconcile -----------------------------------------------------------------------

    async def reconcile(self, key: str) -> float | None:
        existing = self._slices.indexer.by_index(SERVICE_INDEX, key)
        now = self.clock.now()
        if not self._tracker.caught_up(key, {s["metadata"]["name"]: s for s in existing}, now):
            return _CATCH_UP_DELAY
        service = self._services.indexer.get(key)
        if service is None or not backends.has_selector(service):
            await self._delete_all(key, existing)
            return None
        namespace, _ = split_key(key)
        pods = self._pods.indexer.by_index(NAMESPACE_INDEX, namespace)
        nodes = {node["metadata"]["name"]: node for node in self._nodes.indexer.list()}
        plan = plan_slices(service, desired_endpoints(service, pods, nodes), existing,
                           max_endpoints=self._max_endpoints)
        if plan:
            await self._apply(key, plan)
        return None

    async def _apply(self, key: str, plan: SlicePlan) -> None:
        for body in plan.create:
            created = await self.client.create(ENDPOINTSLICES, body)
            self._tracker.wrote(key, created, self.clock.now())
        for obj in plan.update:
            updated = await self.client.update(ENDPOINTSLICES, obj)
            self._tracker.wrote(key, updated, self.clock.now())
        await self._delete_all(key, plan.delete)

    async def _delete_all(self, key: str, slices: list[Object]) -> None:
        for obj in slices:
            meta = obj["metadata"]
            try:
                await self.client.delete(ENDPOINTSLICES, meta["name"],
                                         namespace=meta["namespace"])
            except StatusError as err:
                if err.code != 404:
                    raise
            self._tracker.deleted(key, obj, self.clock.now())
        if not slices and self._services.indexer.get(key) is None:
            self._tracker.forget(key)


def _services_in(services: Informer, pod: Object) -> list[Object]:
    namespace = (pod.get("metadata") or {}).get("namespace") or ""
    return services.indexer.by_index(NAMESPACE_INDEX, namespace)


def _zone(node: Object) -> str:
    return str(((node.get("metadata") or {}).get("labels") or {}).get(ZONE_LABEL) or "")
