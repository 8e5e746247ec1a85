"""ImageLocality (upstream ``plugins/imagelocality``).

A node scores by the sizes of the pod's images it already has, each scaled by the share of
nodes that have it (so an image everywhere does not pull every pod to one node), clamped
between 23 MiB and 1000 MiB per container and mapped onto 0..100. PreScore skips pods none of
whose images is on any node.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from steersman.scheduler.framework.interface import (
    MAX_NODE_SCORE,
    SKIP,
    SUCCESS,
    CycleState,
    Handle,
    Status,
)
from steersman.scheduler.framework.types import NodeInfo, PodInfo

NAME = "ImageLocality"
MB = 1024 * 1024
MIN_THRESHOLD = 23 * MB
MAX_CONTAINER_THRESHOLD = 1000 * MB


class ImageLocality:
    name = NAME

    def pre_score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> Status:
        snapshot = state.snapshot
        return SUCCESS if any(snapshot.image_spread(i) for i in pod.images) else SKIP

    def score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> list[int]:
        snapshot = state.snapshot
        total = max(len(snapshot.nodes), 1)
        spread = {image: snapshot.image_spread(image) / total for image in set(pod.images)}
        ceiling = MAX_CONTAINER_THRESHOLD * max(len(pod.images), 1)
        return [_priority(sum(int(node.images[i] * spread[i]) for i in pod.images
                              if i in node.images), ceiling)
                for node in nodes]


def _priority(total: int, ceiling: int) -> int:
    clamped = min(max(total, MIN_THRESHOLD), ceiling)
    return MAX_NODE_SCORE * (clamped - MIN_THRESHOLD) // (ceiling - MIN_THRESHOLD)


def new(_args: Mapping[str, Any], _handle: Handle) -> ImageLocality:
    return ImageLocality()
