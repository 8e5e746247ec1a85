"""Liveness, readiness and startup probes: one asyncio task per probe per container.

The kubelet's ``prober/worker.go``: wait ``initialDelaySeconds``, then every
``periodSeconds`` run the handler with ``timeoutSeconds``; a result flips only after
``successThreshold`` successes or ``failureThreshold`` failures in a row
(:class:`ProbeCounter`). Readiness starts failed, liveness and startup start successful
and unknown; liveness and readiness wait until the startup probe has succeeded. A
container whose liveness (or startup) probe failed is *unhealthy*: the pod worker kills
it and restarts it as the restart policy says. Every change calls ``on_change`` (the pod
worker's wake-up). Readiness can be seeded (an adopted container keeps the readiness the
API server shows, so a restarted agent does not flap endpoints).
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from steersman.client import Clock
from steersman.kubelet.agent.handlers import Target, run_handler

log = logging.getLogger(__name__)
Object = dict[str, Any]


class ProbeKind(enum.StrEnum):
    LIVENESS = "livenessProbe"
    READINESS = "readinessProbe"
    STARTUP = "startupProbe"


@dataclass(slots=True)
class ProbeCounter:
    """Consecutive results against the thresholds; ``result`` is the current verdict."""

    success_threshold: int
    failure_threshold: int
    result: bool | None  # None: unknown yet (a startup probe before its verdict)
    _run: int = 0
    _last: bool | None = None

    def record(self, ok: bool) -> bool:
        """Count one result; True when the verdict changed."""
        self._run = self._run + 1 if ok == self._last else 1
        self._last = ok
        threshold = self.success_threshold if ok else self.failure_threshold
        if ok != self.result and self._run >= threshold:
            self.result = ok
            return True
        return False


@dataclass(frozen=True)
class ProbeSpec:
    handler: Object
    initial_delay: float
    period: float
    timeout: float
    success_threshold: int
    failure_threshold: int

    @classmethod
    def of(cls, probe: Object, kind: ProbeKind) -> ProbeSpec:
        success = int(probe.get("successThreshold") or 1)
        return cls(handler=probe, initial_delay=float(probe.get("initialDelaySeconds") or 0),
                   period=float(probe.get("periodSeconds") or 10),
                   timeout=float(probe.get("timeoutSeconds") or 1),
                   success_threshold=success if kind is ProbeKind.READINESS else 1,
                   failure_threshold=int(probe.get("failureThreshold") or 3))


class ContainerProbes:
    """The probes of one container instance and their current verdicts."""

    def __init__(self, container: Object, target: Target, *, clock: Clock,
                 on_change: Callable[[], None], ready: bool = False,
                 started: bool = False) -> None:
        self._target = target
        self._clock = clock
        self._on_change = on_change
        self.specs = {kind: ProbeSpec.of(container[kind.value], kind)
                      for kind in ProbeKind if container.get(kind.value)}
        self.started = started or ProbeKind.STARTUP not in self.specs
        self.ready = ready or ProbeKind.READINESS not in self.specs
        self.unhealthy = False
        self.message = ""
        self._started_event = asyncio.Event()
        if self.started:
            self._started_event.set()
        self._tasks = [asyncio.create_task(self._loop(kind, spec))
                       for kind, spec in self.specs.items()
                       if not (kind is ProbeKind.STARTUP and self.started)]

    def stop(self) -> None:
        for task in self._tasks:
            task.cancel()

    async def _loop(self, kind: ProbeKind, spec: ProbeSpec) -> None:
        if kind is not ProbeKind.STARTUP:
            await self._started_event.wait()
        initial = {ProbeKind.READINESS: self.ready, ProbeKind.LIVENESS: True}.get(kind)
        counter = ProbeCounter(spec.success_threshold, spec.failure_threshold, initial)
        await self._clock.sleep(spec.initial_delay)
        while True:
            outcome = await run_handler(spec.handler, self._target, timeout=spec.timeout)
            if counter.record(outcome.ok):
                self._apply(kind, outcome.ok, outcome.message)
                if kind is ProbeKind.STARTUP:
                    return
            await self._clock.sleep(spec.period)

    def _apply(self, kind: ProbeKind, ok: bool, message: str) -> None:
        if kind is ProbeKind.READINESS:
            self.ready = ok
        elif kind is ProbeKind.STARTUP and ok:
            self.started = True
            self._started_event.set()
        elif not ok:
            self.unhealthy = True
            self.message = f"{kind.value.removesuffix('Probe').capitalize()} probe failed: " \
                           f"{message}"
            log.info("container %s: %s", self._target.container_id, self.message)
        self._on_change()
