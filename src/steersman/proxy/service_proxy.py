"""The service proxy of one node: informers in, one coalesced backend sync out.

:class:`ServiceProxy` watches Services and EndpointSlices (its own two informers) and,
whenever either changes, rebuilds the whole :class:`~steersman.proxy.model.ProxyTable` and
hands it to the backend. Syncs are coalesced as kube-proxy's ``minSyncPeriod``: a burst of
changes within ``min_sync_period`` (50 ms by default) becomes one sync, and a change during
a sync is picked up by the next one, so the data plane follows the API within well under a
second.

Frontends the backend could not serve become a Warning Event ``FailedToBindServicePort`` on
the Service, once per (Service, frontend) until it is served or gone; they are retried
every ``retry_period`` seconds, so a port another process frees is picked up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from steersman.api.errors import StatusError
from steersman.client import (
    ENDPOINTSLICES,
    SERVICES,
    Client,
    Clock,
    Informer,
    ServerUnreachable,
    SystemClock,
)
from steersman.proxy.backend import BindFailure, ProxyBackend
from steersman.proxy.model import Frontend, build_table

log = logging.getLogger(__name__)
BIND_FAILED_REASON = "FailedToBindServicePort"


class ServiceProxy:
    """Keeps one node's proxy backend in step with the cluster's Services."""

    def __init__(self, client: Client, *, node_name: str, node_ip: str, backend: ProxyBackend,
                 clock: Clock | None = None, min_sync_period: float = 0.05,
                 retry_period: float = 5.0) -> None:
        self._client = client
        self.node_name = node_name
        self.node_ip = node_ip
        self.backend = backend
        self._clock: Clock = clock or SystemClock()
        self._min_sync_period = min_sync_period
        self._retry_period = retry_period
        self._services = Informer(client, SERVICES, clock=self._clock)
        self._slices = Informer(client, ENDPOINTSLICES, clock=self._clock)
        self._dirty = asyncio.Event()
        self._reported: set[tuple[str, Frontend]] = set()
        for informer in (self._services, self._slices):
            informer.add_handlers(on_add=self._changed, on_update=self._changed_pair,
                                  on_delete=self._changed)

    def _changed(self, obj: object) -> None:
        self._dirty.set()

    def _changed_pair(self, old: object, new: object) -> None:
        self._dirty.set()

    async def run(self) -> None:
        """Proxy until cancelled; the backend is closed (listeners, rules) on the way out."""
        tasks = [asyncio.create_task(i.run(), name=f"proxy-{i.resource.plural}")
                 for i in (self._services, self._slices)]
        try:
            await asyncio.gather(self._services.wait_synced(), self._slices.wait_synced())
            await self._sync_loop()
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await self.backend.close()

    async def _sync_loop(self) -> None:
        self._dirty.set()
        retry_at: float | None = None
        while True:
            await self._wait_for_change(retry_at)
            await self._clock.sleep(self._min_sync_period)
            self._dirty.clear()
            try:
                failures = await self.sync_once()
            except Exception:  # a broken sync is retried, never fatal
                log.exception("%s: proxy sync failed; retrying in %ss", self.node_name,
                              self._retry_period)
                retry_at = self._clock.now() + self._retry_period
                continue
            retry_at = self._clock.now() + self._retry_period if failures else None

    async def _wait_for_change(self, retry_at: float | None) -> None:
        """Until something changed, or until it is time to retry failed frontends."""
        if retry_at is None:
            await self._dirty.wait()
            return
        changed = asyncio.ensure_future(self._dirty.wait())
        timer = asyncio.ensure_future(self._clock.sleep(max(0.0, retry_at - self._clock.now())))
        try:
            await asyncio.wait((changed, timer), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in (changed, timer):
                waiter.cancel()

    async def sync_once(self) -> list[BindFailure]:
        """Build the table from the caches, program the backend, report what failed."""
        table = build_table(self._services.indexer.list(), self._slices.indexer.list(),
                            node_name=self.node_name, node_ip=self.node_ip)
        failures = await self.backend.sync(table)
        await self._report(failures)
        return failures

    async def _report(self, failures: list[BindFailure]) -> None:
        current = {(f.service.uid or str(f.service), f.frontend): f for f in failures}
        self._reported &= set(current)
        for key, failure in current.items():
            if key in self._reported:
                continue
            self._reported.add(key)
            log.warning("%s", failure.message(self.node_name))
            with contextlib.suppress(StatusError, ServerUnreachable):
                await self._client.create_event(
                    failure.service.as_object(), reason=BIND_FAILED_REASON,
                    message=failure.message(self.node_name), type="Warning",
                    component="steersman-proxy", instance=self.node_name)
