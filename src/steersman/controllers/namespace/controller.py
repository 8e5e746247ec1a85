"""The namespace controller: empties a terminating namespace, then finalizes it.

A DELETE of a namespace only marks it (``deletionTimestamp``, ``status.phase:
Terminating``) while ``spec.finalizers`` holds ``kubernetes``; from then on the API server
refuses new content in it. For such a namespace, reconcile (keyed by name) discovers the
namespaced resources, deletes their objects (:mod:`.deleter`), and records the outcome in
the namespace's status conditions (:mod:`.conditions`). While anything remains, or some
group could not be discovered or emptied, it looks again after a delay that doubles from
:data:`FIRST_RECHECK` to :data:`LAST_RECHECK` seconds; once nothing remains it PUTs
``namespaces/<name>/finalize`` without ``kubernetes``, and the server removes the
namespace. Conflicts with concurrent writers are retried after :data:`CONFLICT_RETRY`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any

from steersman.api.errors import StatusError
from steersman.api.meta import now_rfc3339
from steersman.client import NAMESPACES, Client, Clock, Informer, discover
from steersman.controllers.namespace.conditions import (
    ContentReport,
    deletion_conditions,
    merge_conditions,
)
from steersman.controllers.namespace.deleter import delete_content
from steersman.controllers.runtime import InformerFactory, QueueController

log = logging.getLogger(__name__)

Object = dict[str, Any]
FINALIZER = "kubernetes"
FIRST_RECHECK = 0.5
LAST_RECHECK = 15.0
CONFLICT_RETRY = 0.5


class NamespaceController(QueueController):
    name = "namespace"
    workers = 4

    def __init__(self, client: Client, *, clock: Clock | None = None) -> None:
        super().__init__(client, clock=clock)
        self._namespaces: Informer | None = None
        self._rechecks: dict[str, int] = {}

    def setup(self, factory: InformerFactory) -> None:
        self._namespaces = factory.informer(NAMESPACES)
        self._namespaces.add_handlers(on_add=self._on_change,
                                      on_update=lambda _old, new: self._on_change(new))

    def _on_change(self, namespace: Object) -> None:
        if _terminating(namespace):
            self.enqueue(namespace)

    async def reconcile(self, key: str) -> float | None:
        namespace = self._cached(key)
        if namespace is None or not _terminating(namespace):
            self._rechecks.pop(key, None)
            return None
        discovery = await discover(self.client)
        report = await delete_content(self.client, key, discovery)
        recorded = await self._record(namespace, report)
        if recorded is None:
            return CONFLICT_RETRY
        if not report.done:
            return self._recheck_delay(key)
        self._rechecks.pop(key, None)
        return await self._finalize(recorded)

    def _cached(self, name: str) -> Object | None:
        if self._namespaces is None:
            raise RuntimeError("the namespace controller was not set up")
        return self._namespaces.indexer.get(name)

    def _recheck_delay(self, name: str) -> float:
        attempt = self._rechecks.get(name, 0)
        self._rechecks[name] = attempt + 1
        return float(min(FIRST_RECHECK * 2 ** attempt, LAST_RECHECK))

    async def _record(self, namespace: Object, report: ContentReport) -> Object | None:
        """Write the deletion conditions if they changed; the namespace as it now is, or
        ``None`` if it changed meanwhile."""
        status = namespace.get("status") or {}
        existing = status.get("conditions") or []
        now = now_rfc3339(self.clock.now())
        conditions = merge_conditions(existing, deletion_conditions(report), now)
        if conditions == existing:
            return namespace
        updated = {**namespace, "status": {**status, "conditions": conditions}}
        return await _conflict_free(self.client.update_status(NAMESPACES, updated))

    async def _finalize(self, namespace: Object) -> float | None:
        spec = namespace.get("spec") or {}
        finalizers = [f for f in spec.get("finalizers") or [] if f != FINALIZER]
        finalized = {**namespace, "spec": {**spec, "finalizers": finalizers}}
        log.info("namespace %s is empty: finalizing it", namespace["metadata"]["name"])
        done = await _conflict_free(self.client.update(NAMESPACES, finalized,
                                                       subresource="finalize"))
        return None if done is not None else CONFLICT_RETRY


async def _conflict_free(write: Awaitable[Object]) -> Object | None:
    """The result of ``write``; ``None`` when it met a newer version (409) or no object."""
    try:
        result: Object = await write
    except StatusError as err:
        if err.code not in (404, 409):
            raise
        return None
    return result


def _terminating(namespace: Object) -> bool:
    meta = namespace.get("metadata") or {}
    finalizers = (namespace.get("spec") or {}).get("finalizers") or ()
    return bool(meta.get("deletionTimestamp")) and FINALIZER in finalizers
