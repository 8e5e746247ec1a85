"""Pod status writes: the latest status per pod, written only when it changed.

Pod workers call :meth:`StatusManager.set` after every sync; writer tasks send each pod's
*latest* status (``status/status_manager.go``): intermediate states that were superseded
before the write are never sent, an unchanged status is never sent, and a failed write is
retried after a capped back-off while newer statuses keep replacing the pending one.
Several pods' statuses are written at once (``concurrency`` writers), one pod's never:
a pod whose status changes while it is being written is queued again when that write
ends, so writes of one pod land in order. (One writer, as the kubelet has, made a hundred
pods starting together wait for each other's round trips.) Writes are merge patches of
``pods/<name>/status``, so they never conflict with spec or metadata changes.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from steersman.api.errors import StatusError
from steersman.client import PODS, Client, Clock, PatchType, ServerUnreachable

log = logging.getLogger(__name__)
Object = dict[str, Any]
_RETRY_BASE, _RETRY_CAP = 0.2, 10.0


@dataclass(slots=True)
class _Pending:
    namespace: str
    name: str
    status: Object


class StatusManager:
    """Coalesces and writes pod statuses; :meth:`run` is the one writer."""

    def __init__(self, client: Client, *, clock: Clock, concurrency: int = 8) -> None:
        self._client = client
        self._clock = clock
        self._concurrency = concurrency
        self._written: dict[str, Object] = {}
        self._pending: dict[str, _Pending] = {}
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()
        self._writing: set[str] = set()
        self.writes = 0

    def set(self, pod: Object, status: Object) -> None:
        """Record the status ``pod`` should have; written soon unless unchanged."""
        metadata = pod["metadata"]
        uid = str(metadata["uid"])
        if self._written.get(uid) == status and uid not in self._pending:
            return
        self._pending[uid] = _Pending(str(metadata["namespace"]), str(metadata["name"]), status)
        self._enqueue(uid)

    def _enqueue(self, uid: str) -> None:
        if uid not in self._queued and uid not in self._writing:
            self._queued.add(uid)
            self._queue.put_nowait(uid)

    def last_written(self, uid: str) -> Object | None:
        return self._written.get(uid)

    def seed(self, uid: str, status: Object) -> None:
        """What the API server already shows (so an adopted pod's identical status is not
        re-sent)."""
        self._written.setdefault(uid, status)

    def forget(self, uid: str) -> None:
        self._written.pop(uid, None)
        self._pending.pop(uid, None)

    async def flush(self) -> None:
        """Write everything pending once (the worker's final status before a delete)."""
        for uid in list(self._pending):
            if uid not in self._writing:
                await self._write_one(uid)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as writers:
            for _ in range(self._concurrency):
                writers.create_task(self._writer())

    async def _writer(self) -> None:
        failures = 0
        while True:
            uid = await self._queue.get()
            self._queued.discard(uid)
            if uid in self._writing:
                continue  # requeued by the write under way when it ends
            ok = await self._write_one(uid)
            failures = 0 if ok else failures + 1
            if failures:
                await self._clock.sleep(min(_RETRY_BASE * 2 ** (failures - 1), _RETRY_CAP))
            if uid in self._pending:
                self._enqueue(uid)

    async def _write_one(self, uid: str) -> bool:
        self._writing.add(uid)
        try:
            return await self._write(uid)
        finally:
            self._writing.discard(uid)

    async def _write(self, uid: str) -> bool:
        pending = self._pending.pop(uid, None)
        if pending is None:
            return True
        try:
            await self._client.patch(PODS, pending.name, {"status": pending.status},
                                     namespace=pending.namespace, subresource="status",
                                     patch_type=PatchType.MERGE)
        except StatusError as err:
            if err.code == 404:
                return True
            log.warning("status of %s/%s not written: %s", pending.namespace, pending.name, err)
        except (ServerUnreachable, OSError) as err:
            log.debug("status of %s/%s not written: %s", pending.namespace, pending.name, err)
        else:
            self._written[uid] = pending.status
            self.writes += 1
            return True
        self._pending.setdefault(uid, pending)
        return False
