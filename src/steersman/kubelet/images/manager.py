"""Make sure a container's image is on the node: the kubelet's ``EnsureImageExists``.

:meth:`ImageManager.ensure` applies the pull policy, honours ImagePullBackOff, pulls
through a :class:`Puller` (the :class:`~.registry.RegistryClient`, or a fake in tests)
and answers with an :class:`Ensured` value: the image record, or the waiting reason and
message for containerStatuses, plus the events the kubelet would record. Expected failures
are values; nothing here raises for a bad image or a failed pull.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from steersman.client import Clock
from steersman.kubelet.images import policy
from steersman.kubelet.images.credentials import Credential
from steersman.kubelet.images.errors import ImageError, PullError
from steersman.kubelet.images.policy import Decision, PullBackoff, PullPolicy
from steersman.kubelet.images.store import ImageRecord, ImageStore


class Puller(Protocol):
    async def pull(self, image: str, *,
                   credentials: Sequence[Credential] = ()) -> ImageRecord: ...


@dataclass(frozen=True, slots=True)
class ImageEvent:
    type: str
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class Ensured:
    """The image (``record``), or why the container waits (``reason``, ``message``)."""

    record: ImageRecord | None = None
    reason: str = ""
    message: str = ""
    events: tuple[ImageEvent, ...] = field(default_factory=tuple)


class ImageManager:
    """Policy + back-off + puller + store, for the pod workers of one node."""

    def __init__(self, *, store: ImageStore, puller: Puller, clock: Clock,
                 backoff: PullBackoff | None = None) -> None:
        self.store = store
        self._puller = puller
        self._clock = clock
        self.backoff = backoff or PullBackoff(clock=clock)

    async def ensure(self, image: str, *, pull_policy: PullPolicy, backoff_key: str,
                     credentials: Sequence[Credential] = ()) -> Ensured:
        if not policy.is_valid_image(image):
            message = f'Failed to apply default image tag "{image}": invalid reference format'
            return _waiting(policy.INVALID_IMAGE_NAME, message, "InspectFailed")
        present = await asyncio.to_thread(self.store.get, image)
        decision = policy.decide(pull_policy, present=present is not None)
        if decision is Decision.USE_PRESENT and present is not None:
            event = ImageEvent("Normal", "Pulled", policy.present_message(image))
            return Ensured(record=present, events=(event,))
        if decision is Decision.NEVER_PULL:
            return _waiting(policy.ERR_IMAGE_NEVER_PULL, policy.never_pull_message(image),
                            policy.ERR_IMAGE_NEVER_PULL)
        if self.backoff.in_backoff(backoff_key):
            message = policy.backoff_message(image)
            return Ensured(reason=policy.IMAGE_PULL_BACKOFF, message=message,
                           events=(ImageEvent("Normal", "BackOff", message),))
        return await self._pull(image, backoff_key, credentials)

    async def _pull(self, image: str, backoff_key: str,
                    credentials: Sequence[Credential]) -> Ensured:
        pulling = ImageEvent("Normal", "Pulling", policy.pulling_message(image))
        started = self._clock.now()
        try:
            record = await self._puller.pull(image, credentials=credentials)
        except ImageError as exc:
            self.backoff.failed(backoff_key)
            failed = ImageEvent("Warning", "Failed", policy.failed_message(image, _why(exc)))
            return Ensured(reason=policy.ERR_IMAGE_PULL, message=str(exc),
                           events=(pulling, failed))
        self.backoff.succeeded(backoff_key)
        message = policy.pulled_message(image, seconds=self._clock.now() - started,
                                        size=record.size)
        return Ensured(record=record, events=(pulling, ImageEvent("Normal", "Pulled", message)))


def _waiting(reason: str, message: str, event_reason: str) -> Ensured:
    return Ensured(reason=reason, message=message,
                   events=(ImageEvent("Warning", event_reason, message),))


def _why(error: ImageError) -> str:
    return error.reason if isinstance(error, PullError) else str(error)
