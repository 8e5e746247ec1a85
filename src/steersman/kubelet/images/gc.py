"""Image garbage collection by disk usage: the kubelet's ``realImageGCManager``, small.

When the image filesystem (the one holding the store) is at least
``high_threshold_percent`` full (85, ``imageGCHighThresholdPercent``), images are removed,
least recently used first, until usage would be down to ``low_threshold_percent`` (80,
``imageGCLowThresholdPercent``). Never removed: an image named in ``in_use`` (the images of
the node's containers, running or exited), one whose rootfs a container still leases, or
one younger than ``min_age`` (two minutes, ``imageMinimumGCAge``). An image's size counts
as freed when it goes. The disk usage is injected so tests decide how full the disk is.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from steersman.kubelet.images.store import ImageRecord, ImageStore

DiskUsage = Callable[[Path], tuple[int, int]]  # path → (capacity, available) in bytes


@dataclass(frozen=True, slots=True)
class GCPolicy:
    high_threshold_percent: int = 85
    low_threshold_percent: int = 80
    min_age: float = 120.0

    def __post_init__(self) -> None:
        if not 0 <= self.low_threshold_percent <= self.high_threshold_percent <= 100:
            raise ValueError("image GC thresholds need 0 <= low <= high <= 100, got "
                             f"low={self.low_threshold_percent} "
                             f"high={self.high_threshold_percent}")


def filesystem_usage(path: Path) -> tuple[int, int]:
    """(capacity, available to unprivileged users) of the filesystem holding ``path``."""
    stats = os.statvfs(path)
    return stats.f_blocks * stats.f_frsize, stats.f_bavail * stats.f_frsize


def bytes_to_free(capacity: int, available: int, policy: GCPolicy) -> int:
    """How much to delete now: 0 below the high threshold, else down to the low one."""
    if capacity <= 0:
        return 0
    if (capacity - available) * 100 < policy.high_threshold_percent * capacity:
        return 0
    return capacity * (100 - policy.low_threshold_percent) // 100 - available


def collect_images(store: ImageStore, *, in_use: set[str], now: float,
                   policy: GCPolicy | None = None,
                   usage: DiskUsage = filesystem_usage) -> list[ImageRecord]:
    """Remove least recently used, unused images until enough is freed; the removed."""
    policy = policy or GCPolicy()
    wanted = bytes_to_free(*usage(store.root), policy)
    if wanted <= 0:
        return []
    victims: list[str] = []
    freed = 0
    for record in sorted(store.images(), key=lambda r: r.last_used):
        if freed >= wanted:
            break
        if now - record.created < policy.min_age or store.in_use(record, in_use):
            continue
        victims.append(record.name)
        freed += record.size
    return store.remove_unused(victims, keep=in_use)
