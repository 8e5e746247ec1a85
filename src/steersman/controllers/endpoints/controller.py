"""The Endpoints controller: the legacy core/v1 Endpoints of every Service with a selector.

Keys are Services. Pod and Service events enqueue the Services they concern (Endpoints
events enqueue their Service, so an edited or deleted object is put back). Services
without a selector are never touched: their Endpoints belong to someone else — the API
server's own ``default/kubernetes`` (labelled ``endpointslice.kubernetes.io/skip-mirror``)
or a user's. When a Service is deleted, its Endpoints go too.
"""

from __future__ import annotations

from typing import Any

from steersman.api.errors import StatusError
from steersman.client import ENDPOINTS, NAMESPACE_INDEX, PODS, SERVICES, Client, Clock
from steersman.controllers import service_backends as backends
from steersman.controllers.endpoints.subsets import desired_endpoints, needs_update
from steersman.controllers.runtime import InformerFactory, QueueController, split_key

Object = dict[str, Any]


class EndpointsController(QueueController):
    name = "endpoints"
    workers = 4

    def __init__(self, client: Client, *, clock: Clock | None = None) -> None:
        super().__init__(client, clock=clock)

    def setup(self, factory: InformerFactory) -> None:
        self._services = factory.informer(SERVICES)
        self._pods = factory.informer(PODS)
        self._endpoints = factory.informer(ENDPOINTS)
        self._services.add_handlers(on_add=self.enqueue, on_update=lambda _, new: self.enqueue(new),
                                    on_delete=self.enqueue)
        self._pods.add_handlers(on_add=self._pod_changed, on_update=self._pod_updated,
                                on_delete=self._pod_changed)
        self._endpoints.add_handlers(on_update=lambda _, new: self.enqueue(new),
                                     on_delete=self.enqueue)

    def _pod_changed(self, pod: Object) -> None:
        self._pod_updated(pod, pod)

    def _pod_updated(self, old: Object, new: Object) -> None:
        namespace = (new.get("metadata") or {}).get("namespace") or ""
        for service in self._services.indexer.by_index(NAMESPACE_INDEX, namespace):
            if backends.selects(service, old) or backends.selects(service, new):
                self.enqueue(service)

    async def reconcile(self, key: str) -> float | None:
        namespace, name = split_key(key)
        service = self._services.indexer.get(key)
        current = self._endpoints.indexer.get(key)
        if service is None:
            if current is not None:
                await self._delete(namespace, name)
            return None
        if not backends.has_selector(service):
            return None
        pods = self._pods.indexer.by_index(NAMESPACE_INDEX, namespace)
        wanted = desired_endpoints(service, pods)
        if current is None:
            await self.client.create(ENDPOINTS, wanted)
        elif needs_update(current, wanted):
            wanted["metadata"] = {**current["metadata"], **wanted["metadata"]}
            await self.client.update(ENDPOINTS, wanted)
        return None

    async def _delete(self, namespace: str, name: str) -> None:
        try:
            await self.client.delete(ENDPOINTS, name, namespace=namespace)
        except StatusError as err:
            if err.code != 404:
                raise
