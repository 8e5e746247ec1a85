"""Events for the scheduler: buffered, aggregated, written in the background.

:class:`ClientEventRecorder` implements :class:`~steersman.scheduler.scheduler.EventRecorder`
as client-go's broadcaster + ``EventCorrelator`` do for core/v1 Events:

* :meth:`ClientEventRecorder.event` never blocks: it files the event under its key
  (involved object UID, type, reason, message) and returns. A repeat of a key still waiting
  only bumps its count; when ``max_pending`` keys wait, new keys are dropped (and counted),
  as the broadcaster drops when its channel is full.
* :meth:`ClientEventRecorder.run` flushes the waiting keys in the background, at most
  ``max_in_flight`` requests at a time. A key written before (remembered in an LRU of
  ``cache_size`` entries) is PATCHed — ``count`` increased, ``lastTimestamp`` moved — instead
  of creating a new Event, so ``kubectl describe`` shows ``(x5 over 2m)``; if that Event has
  gone (404), a fresh one is created.

Events are named ``<object>.<hex unix nanos>`` and carry ``source.component`` and
``reportingComponent`` = the scheduler name, as upstream. Write failures are logged and
dropped: events are best-effort.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from steersman.api.errors import StatusError
from steersman.api.meta import now_rfc3339
from steersman.client import EVENTS, Client, PatchType, ServerUnreachable

log = logging.getLogger(__name__)
Object = dict[str, Any]
Key = tuple[str, str, str, str]


@dataclass(slots=True)
class _Pending:
    involved: Object
    namespace: str
    count: int
    first: float
    last: float


@dataclass(frozen=True, slots=True)
class _Written:
    name: str
    namespace: str
    count: int
    first: float


class ClientEventRecorder:
    """Non-blocking event recording with client-go's aggregation; run :meth:`run` beside it."""

    def __init__(self, client: Client, *, component: str = "default-scheduler",
                 max_in_flight: int = 8, max_pending: int = 4096,
                 cache_size: int = 4096) -> None:
        self._client = client
        self._component = component
        self._max_in_flight = max_in_flight
        self._max_pending = max_pending
        self._cache_size = cache_size
        self._pending: dict[Key, _Pending] = {}
        self._written: OrderedDict[Key, _Written] = OrderedDict()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.dropped = 0

    def event(self, obj: Mapping[str, Any], type: str, reason: str, message: str) -> None:
        meta = obj.get("metadata") or {}
        key = (str(meta.get("uid") or ""), type, reason, message)
        now = self._client.clock.now()
        pending = self._pending.get(key)
        if pending is not None:
            pending.count += 1
            pending.last = now
            return
        if len(self._pending) >= self._max_pending:
            self.dropped += 1
            return
        self._pending[key] = _Pending(_involved(obj), str(meta.get("namespace") or "default"),
                                      1, now, now)
        self._idle.clear()
        self._wake.set()

    async def run(self) -> None:
        """Write waiting events until cancelled."""
        reported = 0
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._pending = self._pending, {}
            await self._write_all(iter(batch.items()), len(batch))
            if self.dropped > reported:
                log.warning("%d events dropped: more than %d waiting to be written",
                            self.dropped - reported, self._max_pending)
                reported = self.dropped
            if not self._pending:
                self._idle.set()

    async def flush(self) -> None:
        """Wait until every event recorded so far has been written (needs :meth:`run`)."""
        await self._idle.wait()

    async def _write_all(self, batch: Iterator[tuple[Key, _Pending]], size: int) -> None:
        async def worker() -> None:
            for key, pending in batch:
                try:
                    await self._write(key, pending)
                except (StatusError, ServerUnreachable) as err:
                    log.warning("event %s %s not written: %s", key[2], key[3][:80], err)

        await asyncio.gather(*(worker() for _ in range(min(self._max_in_flight, size))))

    async def _write(self, key: Key, pending: _Pending) -> None:
        written = self._written.get(key)
        if written is not None:
            try:
                await self._bump(written, pending)
                self._remember(key, _Written(written.name, written.namespace,
                                             written.count + pending.count, written.first))
                return
            except StatusError as err:
                if err.code != 404:
                    raise
        name = await self._create(key, pending)
        self._remember(key, _Written(name, pending.namespace, pending.count, pending.first))

    async def _bump(self, written: _Written, pending: _Pending) -> None:
        patch = {"count": written.count + pending.count,
                 "lastTimestamp": now_rfc3339(pending.last)}
        await self._client.patch(EVENTS, written.name, patch, namespace=written.namespace,
                                 patch_type=PatchType.STRATEGIC)

    async def _create(self, key: Key, pending: _Pending) -> str:
        _, type, reason, message = key
        name = f"{pending.involved.get('name', 'unknown')}.{int(pending.last * 1e9):x}"
        event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": pending.namespace},
            "involvedObject": pending.involved, "type": type, "reason": reason,
            "message": message, "count": pending.count,
            "firstTimestamp": now_rfc3339(pending.first),
            "lastTimestamp": now_rfc3339(pending.last),
            "source": {"component": self._component},
            "reportingComponent": self._component, "reportingInstance": self._component,
        }
        await self._client.create(EVENTS, event, namespace=pending.namespace)
        return name

    def _remember(self, key: Key, written: _Written) -> None:
        self._written[key] = written
        self._written.move_to_end(key)
        while len(self._written) > self._cache_size:
            self._written.popitem(last=False)


def _involved(obj: Mapping[str, Any]) -> Object:
    meta = obj.get("metadata") or {}
    reference = {"kind": obj.get("kind") or "Pod", "apiVersion": obj.get("apiVersion") or "v1",
                 "name": meta.get("name"), "namespace": meta.get("namespace"),
                 "uid": meta.get("uid"), "resourceVersion": meta.get("resourceVersion")}
    return {key: value for key, value in reference.items() if value}
