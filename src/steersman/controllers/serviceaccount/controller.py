"""The service-account controller: every active namespace has a ``default`` ServiceAccount.

Upstream ``pkg/controller/serviceaccount/serviceaccounts_controller.go``: keys are
namespaces; a namespace that is added or changes, or whose ``default`` account is deleted,
is reconciled; an active namespace without the account gets it created. Terminating
namespaces are left alone (the API server would refuse the create anyway).
"""

from __future__ import annotations

from typing import Any

from steersman.api.errors import StatusError
from steersman.client import NAMESPACES, SERVICEACCOUNTS, Client, Clock
from steersman.controllers.runtime import InformerFactory, QueueController

Object = dict[str, Any]
DEFAULT_ACCOUNTS = ("default",)


def is_active(namespace: Object) -> bool:
    meta = namespace.get("metadata") or {}
    phase = (namespace.get("status") or {}).get("phase", "Active")
    return not meta.get("deletionTimestamp") and phase != "Terminating"


class ServiceAccountController(QueueController):
    name = "serviceaccount"

    def __init__(self, client: Client, *, clock: Clock | None = None) -> None:
        super().__init__(client, clock=clock)

    def setup(self, factory: InformerFactory) -> None:
        self._namespaces = factory.informer(NAMESPACES)
        self._accounts = factory.informer(SERVICEACCOUNTS)
        self._namespaces.add_handlers(on_add=self.enqueue,
                                      on_update=lambda _, new: self.enqueue(new))
        self._accounts.add_handlers(on_delete=self._account_deleted)

    def _account_deleted(self, account: Object) -> None:
        meta = account.get("metadata") or {}
        if meta.get("name") in DEFAULT_ACCOUNTS and meta.get("namespace"):
            self.queue.add(str(meta["namespace"]))

    async def reconcile(self, key: str) -> float | None:
        namespace = self._namespaces.indexer.get(key)
        if namespace is None or not is_active(namespace):
            return None
        for name in DEFAULT_ACCOUNTS:
            if self._accounts.indexer.get(f"{key}/{name}") is None:
                await self._create(key, name)
        return None

    async def _create(self, namespace: str, name: str) -> None:
        body = {"apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": name, "namespace": namespace}}
        try:
            await self.client.create(SERVICEACCOUNTS, body)
        except StatusError as err:
            # AlreadyExists: the cache was behind. Forbidden/NotFound: the namespace is
            # being deleted or gone; its next event (if any) brings it back here.
            if err.code not in (403, 404, 409):
                raise
