"""Lease-based leader election (coordination.k8s.io/v1), as client-go ``tools/leaderelection``.

Several candidates share one Lease; the one named in ``spec.holderIdentity`` leads.

* **acquire** — a candidate takes the Lease when nobody holds it or the holder's lease has
  expired (``renewTime + leaseDurationSeconds`` is in the past), writing its identity,
  ``acquireTime``/``renewTime`` (MicroTime) and ``leaseTransitions + 1``. Every write is a
  conditional PUT on the Lease's resourceVersion, so of two candidates racing, one gets 409
  Conflict and keeps waiting. Candidates retry every ``retry_period`` (jittered).
* **renew** — the leader rewrites ``renewTime`` every ``retry_period``. If it cannot do so
  within ``renew_deadline`` of its last successful renewal it steps down: its leading task
  is cancelled and ``on_stopped_leading`` runs. Since ``renew_deadline < lease_duration``,
  it has stopped before anyone else may take over.
* **release** — on a graceful stop (the task running :meth:`LeaderElector.run` is
  cancelled, or the leading task returns) the leader clears ``holderIdentity``, so a
  standby takes over at its next retry instead of waiting for the lease to expire.

Times come from the injected clock, so every candidate's clock must roughly agree
(true on one machine; NTP across machines), as with client-go.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import random
import socket
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from steersman.api.errors import StatusError
from steersman.api.meta import micro_time, parse_time
from steersman.client.clock import Clock, SystemClock
from steersman.client.errors import ServerUnreachable
from steersman.client.resource import LEASES
from steersman.client.rest import Client

log = logging.getLogger(__name__)

Object = dict[str, Any]
JITTER_FACTOR = 1.2


class LeaderElector:
    """One candidate for the Lease ``namespace/name``; :meth:`run` is one term of office."""

    def __init__(self, client: Client, *, name: str, namespace: str, identity: str,
                 on_started_leading: Callable[[], Coroutine[Any, Any, None]],
                 on_stopped_leading: Callable[[], None] | None = None,
                 on_new_leader: Callable[[str], None] | None = None,
                 lease_duration: float = 15.0, renew_deadline: float = 10.0,
                 retry_period: float = 2.0, release_on_cancel: bool = True,
                 clock: Clock | None = None, rng: random.Random | None = None) -> None:
        _check_timing(lease_duration, renew_deadline, retry_period)
        if not identity:
            raise ValueError("a leader election candidate needs an identity")
        self._client = client
        self._name, self._namespace, self.identity = name, namespace, identity
        self._on_started_leading = on_started_leading
        self._on_stopped_leading = on_stopped_leading
        self._on_new_leader = on_new_leader
        self._lease_seconds = math.ceil(lease_duration)
        self._renew_deadline = renew_deadline
        self._retry_period = retry_period
        self._release_on_cancel = release_on_cancel
        self._clock: Clock = clock or SystemClock()
        self._rng = rng or random.Random()
        self._lease: Object | None = None
        self._last_renew = 0.0
        self.leader = ""

    @property
    def is_leader(self) -> bool:
        return self._lease is not None and self.leader == self.identity

    async def run(self) -> None:
        """Wait to acquire the Lease, lead until leadership is lost or the task is cancelled.

        Returns when leadership is lost (or the leading task finished); call again to stand
        for election again. An exception from the leading task is re-raised.
        """
        await self._acquire()
        leading = asyncio.create_task(self._on_started_leading())
        renewing = asyncio.create_task(self._renew_loop())
        graceful = True
        try:
            await asyncio.wait({leading, renewing}, return_when=asyncio.FIRST_COMPLETED)
            graceful = not renewing.done()
        finally:
            await self._step_down(leading, renewing, graceful)
        failure = None if leading.cancelled() else leading.exception()
        if failure is not None:
            raise failure

    async def _step_down(self, leading: asyncio.Task[None], renewing: asyncio.Task[None],
                         graceful: bool) -> None:
        for task in (leading, renewing):
            task.cancel()
        await asyncio.gather(leading, renewing, return_exceptions=True)
        if graceful and self._release_on_cancel:
            await self._within(self._renew_deadline, self._release())
        self._lease = None
        if self._on_stopped_leading is not None:
            self._on_stopped_leading()

    async def _acquire(self) -> None:
        while not await self._within(self._renew_deadline, self._try_acquire_or_renew()):
            jitter = 1 + JITTER_FACTOR * self._rng.random()
            await self._clock.sleep(self._retry_period * jitter)
        log.info("%s became leader of lease %s/%s", self.identity, self._namespace, self._name)

    async def _renew_loop(self) -> None:
        while True:
            await self._clock.sleep(self._retry_period)
            if not await self._renew_before_deadline():
                log.warning("%s failed to renew lease %s/%s within %.1fs; stepping down",
                            self.identity, self._namespace, self._name, self._renew_deadline)
                return

    async def _renew_before_deadline(self) -> bool:
        deadline = self._last_renew + self._renew_deadline
        while (remaining := deadline - self._clock.now()) > 0:
            if await self._within(remaining, self._try_acquire_or_renew()):
                return True
            await self._clock.sleep(min(self._retry_period, max(deadline - self._clock.now(), 0)))
        return False

    async def _within(self, seconds: float, attempt: Awaitable[bool]) -> bool:
        """``attempt``'s answer, or False if it fails or takes longer than ``seconds``."""
        task = asyncio.ensure_future(attempt)
        timer = asyncio.ensure_future(self._clock.sleep(seconds))
        try:
            await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            task.cancel()
        if task.cancelled():
            return False
        error = task.exception()
        if error is not None:
            log.warning("%s: lease %s/%s: %s", self.identity, self._namespace, self._name, error)
            return False
        return task.result()

    async def _try_acquire_or_renew(self) -> bool:
        now = self._clock.now()
        if self.is_leader and await self._write(self._lease or {}, now):
            return True  # fast path: renew from our own last write, no GET
        try:
            lease = await self._client.get(LEASES, self._name, namespace=self._namespace)
        except StatusError as err:
            if err.code != 404:
                raise
            return await self._create(now)
        spec = lease.get("spec") or {}
        self._observe(str(spec.get("holderIdentity") or ""))
        if self.leader and self.leader != self.identity and not _expired(spec, now):
            return False
        return await self._write(lease, now)

    async def _create(self, now: float) -> bool:
        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                 "metadata": {"name": self._name, "namespace": self._namespace},
                 "spec": self._spec({}, now, transitions=0)}
        try:
            created = await self._client.create(LEASES, lease)
        except StatusError as err:
            if err.code == 409:
                return False
            raise
        return self._won(created, now)

    async def _write(self, lease: Object, now: float) -> bool:
        spec = lease.get("spec") or {}
        transitions = int(spec.get("leaseTransitions") or 0)
        if spec.get("holderIdentity") != self.identity:
            transitions += 1
        try:
            written = await self._client.update(
                LEASES, {**lease, "spec": self._spec(spec, now, transitions)})
        except StatusError as err:
            if err.code == 409:
                return False  # someone wrote the Lease since we read it: lost this round
            raise
        return self._won(written, now)

    def _spec(self, old: Object, now: float, transitions: int) -> Object:
        stamp = micro_time(now)
        keep_acquired = old.get("holderIdentity") == self.identity and old.get("acquireTime")
        return {**old, "holderIdentity": self.identity,
                "leaseDurationSeconds": self._lease_seconds,
                "acquireTime": old["acquireTime"] if keep_acquired else stamp,
                "renewTime": stamp, "leaseTransitions": transitions}

    def _won(self, lease: Object, now: float) -> bool:
        self._lease = lease
        self._last_renew = now
        self._observe(self.identity)
        return True

    async def _release(self) -> bool:
        if self._lease is None:
            return False
        stamp = micro_time(self._clock.now())
        spec = {**(self._lease.get("spec") or {}), "holderIdentity": "",
                "leaseDurationSeconds": 1, "acquireTime": stamp, "renewTime": stamp}
        try:
            await self._client.update(LEASES, {**self._lease, "spec": spec})
        except (StatusError, ServerUnreachable) as err:
            log.warning("%s could not release lease %s/%s: %s",
                        self.identity, self._namespace, self._name, err)
            return False
        log.info("%s released lease %s/%s", self.identity, self._namespace, self._name)
        return True

    def _observe(self, holder: str) -> None:
        if holder != self.leader:
            self.leader = holder
            if holder and self._on_new_leader is not None:
                self._on_new_leader(holder)


def _expired(spec: Object, now: float) -> bool:
    renewed = spec.get("renewTime")
    if not renewed:
        return True
    try:
        renewed_at = parse_time(str(renewed)).timestamp()
    except ValueError:
        return True
    return renewed_at + float(spec.get("leaseDurationSeconds") or 0) < now


def _check_timing(lease_duration: float, renew_deadline: float, retry_period: float) -> None:
    if min(lease_duration, renew_deadline, retry_period) <= 0:
        raise ValueError("lease_duration, renew_deadline and retry_period must be positive")
    if lease_duration <= renew_deadline:
        raise ValueError("lease_duration must be greater than renew_deadline")
    if renew_deadline <= JITTER_FACTOR * retry_period:
        raise ValueError(f"renew_deadline must be greater than {JITTER_FACTOR} * retry_period")


def default_identity() -> str:
    """``<host>_<pid>_<random>``: unique per process, readable in ``holderIdentity``."""
    return f"{socket.gethostname()}_{os.getpid()}_{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class ElectionSettings:
    """A component's ``--leader-elect*`` settings (kube-controller-manager's defaults)."""

    lease_name: str
    enabled: bool = True
    lease_namespace: str = "kube-system"
    identity: str = field(default_factory=default_identity)
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0


async def run_elected(client: Client, settings: ElectionSettings,
                      lead: Callable[[], Coroutine[Any, Any, None]], *,
                      on_stopped_leading: Callable[[], None] | None = None,
                      clock: Clock | None = None) -> None:
    """Run ``lead`` while holding the Lease, standing again after every lost term.

    Without election, ``lead`` simply runs. Returns only when cancelled (or ``lead`` raises).
    """
    if not settings.enabled:
        await lead()
        return
    while True:
        elector = LeaderElector(
            client, name=settings.lease_name, namespace=settings.lease_namespace,
            identity=settings.identity, on_started_leading=lead,
            on_stopped_leading=on_stopped_leading, lease_duration=settings.lease_duration,
            renew_deadline=settings.renew_deadline, retry_period=settings.retry_period,
            clock=clock)
        await elector.run()
        log.warning("%s lost leadership; standing for election again", settings.lease_name)
