"""Container log rotation, driven as the kubelet's container log manager drives it.

Every :data:`LOG_ROTATION_SECONDS` (the kubelet's ``containerLogMonitorInterval``) the
runtime service rotates the logs that their writer does not rotate itself — conmon's, see
:meth:`steersman.kubelet.runtime.oci.OciRuntime.rotate_logs`. A pass that fails is logged
and the next one tries again; the loop runs beside the heartbeat in :mod:`.agent`.
"""

from __future__ import annotations

import logging
from typing import Protocol

from steersman.client import Clock
from steersman.kubelet.runtime.interface import ContainerRuntimeError

log = logging.getLogger(__name__)
LOG_ROTATION_SECONDS = 10.0


class LogRotator(Protocol):
    """The part of :class:`~steersman.kubelet.runtime.interface.RuntimeService` used here."""

    async def rotate_logs(self) -> None: ...


async def rotate_logs_periodically(service: LogRotator, *, clock: Clock,
                                   interval: float = LOG_ROTATION_SECONDS) -> None:
    """Rotate container logs every ``interval`` seconds, until cancelled."""
    while True:
        try:
            await service.rotate_logs()
        except (OSError, ContainerRuntimeError) as err:
            log.warning("cannot rotate container logs (%s); retrying in %.0f s", err, interval)
        await clock.sleep(interval)
