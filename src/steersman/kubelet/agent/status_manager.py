"""Pod status writes: the latest status per pod, written only when it changed.

Pod workers call :meth:`StatusManager.set` after every sync; one writer task sends each
pod's *latest* status (``status/status_manager.go``): intermediate states that were
superseded before the write are never sent, an unchanged status is never sent, and a
failed write is retried after a capped back-off while newer statuses keep replacing the
pending one. Writes are merge patches of ``pods/<name>/status``, so they never conflict
with spec or metadata changes.
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

    def __init__(self, client: Client, *, clock: Clock) -> None:
        self._client = client
        self._clock = clock
        self._written: dict[str, Object] = {}
        self._pending: dict[str, _Pending] = {}
        self._wake = asyncio.Event()
        self.writes = 0

    def set(self, pod: Object, status: Object) -> None:
        """Record the status ``pod`` should have; written soon unless unchanged."""
        metadata = pod["metadata"]
        uid = str(metadata["uid"])
        if self._written.get(uid) == status and uid not in self._pending:
            return
        self._pending[uid] = _Pending(str(metadata["namespace"]), str(metadata["name"]), status)
        self._wake.set()

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
            await self._write(uid)

    async def run(self) -> None:
        failures = 0
        while True:
            await self._wake.wait()
            self._wake.clear()
            ok = True
            for uid in list(self._pending):
                ok = await self._write(uid) and ok
            failures = 0 if ok else failures + 1
            if failures:
                self._wake.set()
                await self._clock.sleep(min(_RETRY_BASE * 2 ** (failures - 1), _RETRY_CAP))

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
