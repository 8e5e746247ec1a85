"""imagePullPolicy decisions, ImagePullBackOff timing and the kubelet's image messages.

The default policy is ``Always`` for ``:latest`` or an untagged, undigested image and
``IfNotPresent`` otherwise (the API server's defaulting, repeated here for pods created
without it). A failed pull puts the (pod, image) key in back-off: 10 s, doubling to 5 min,
forgotten after twice the cap without failures (the kubelet's ``flowcontrol.Backoff``). The
clock is injected. Reasons and messages are the kubelet's, word for word.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum

from steersman.client import Clock
from steersman.kubelet.images.reference import parse_reference

ERR_IMAGE_PULL = "ErrImagePull"
IMAGE_PULL_BACKOFF = "ImagePullBackOff"
ERR_IMAGE_NEVER_PULL = "ErrImageNeverPull"
INVALID_IMAGE_NAME = "InvalidImageName"
INITIAL_DELAY = 10.0
MAX_DELAY = 300.0


class PullPolicy(StrEnum):
    ALWAYS = "Always"
    IF_NOT_PRESENT = "IfNotPresent"
    NEVER = "Never"


class Decision(Enum):
    PULL = "pull"
    USE_PRESENT = "use-present"
    NEVER_PULL = "never-pull"


def default_pull_policy(image: str) -> PullPolicy:
    """``Always`` for ``:latest`` and untagged images, else ``IfNotPresent``."""
    name = image.rsplit("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if "@" in image or (":" in last and not last.endswith(":latest")):
        return PullPolicy.IF_NOT_PRESENT
    return PullPolicy.ALWAYS


def pull_policy(image: str, declared: str | None) -> PullPolicy:
    """The container's ``imagePullPolicy``, defaulted when empty; unknown values are loud."""
    if not declared:
        return default_pull_policy(image)
    try:
        return PullPolicy(declared)
    except ValueError:
        raise ValueError(f"unsupported imagePullPolicy {declared!r}: "
                         "use Always, IfNotPresent or Never") from None


def decide(policy: PullPolicy, *, present: bool) -> Decision:
    """Pull, use what the node has, or fail with ``ErrImageNeverPull``."""
    if policy is PullPolicy.ALWAYS or (policy is PullPolicy.IF_NOT_PRESENT and not present):
        return Decision.PULL
    return Decision.USE_PRESENT if present else Decision.NEVER_PULL


def is_valid_image(image: str) -> bool:
    try:
        parse_reference(image)
    except ValueError:
        return False
    return True


def never_pull_message(image: str) -> str:
    return f'Container image "{image}" is not present with pull policy of Never'


def backoff_message(image: str) -> str:
    return f'Back-off pulling image "{image}"'


def pulling_message(image: str) -> str:
    return f'Pulling image "{image}"'


def present_message(image: str) -> str:
    return f'Container image "{image}" already present on machine'


def pulled_message(image: str, *, seconds: float, size: int) -> str:
    return f'Successfully pulled image "{image}" in {seconds:.3f}s. Image size: {size} bytes.'


def failed_message(image: str, reason: str) -> str:
    return f'Failed to pull image "{image}": {reason}'


@dataclass(slots=True)
class _Entry:
    delay: float
    last_update: float


class PullBackoff:
    """Back-off per key (``"<pod uid>/<image>"``) after failed pulls."""

    def __init__(self, *, clock: Clock, initial: float = INITIAL_DELAY,
                 cap: float = MAX_DELAY) -> None:
        self._clock = clock
        self._initial = initial
        self._cap = cap
        self._entries: dict[str, _Entry] = {}

    def in_backoff(self, key: str) -> bool:
        """Whether the last failure of ``key`` was less than its delay ago."""
        entry = self._entries.get(key)
        return entry is not None and self._clock.now() - entry.last_update < entry.delay

    def failed(self, key: str) -> float:
        """Record a failed pull now; return the delay before the next attempt."""
        now = self._clock.now()
        entry = self._entries.get(key)
        if entry is None or now - entry.last_update > 2 * self._cap:
            entry = self._entries[key] = _Entry(self._initial, now)
        else:
            entry.delay = min(entry.delay * 2, self._cap)
            entry.last_update = now
        return entry.delay

    def succeeded(self, key: str) -> None:
        self._entries.pop(key, None)

    def forget_prefix(self, prefix: str) -> None:
        """Drop the entries of one pod (``"<uid>/"``) once it is gone."""
        for key in [key for key in self._entries if key.startswith(prefix)]:
            del self._entries[key]
