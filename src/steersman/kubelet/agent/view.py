"""What the runtime holds for one pod: its sandbox and every instance of every container.

:func:`pod_views` groups the runtime's sandboxes and containers by the pod UID label, so
one ``list`` call serves every pod worker; a :class:`PodView` answers the questions the
action planner and the status generator ask ("the latest instance of ``app``", "the one
before it" for ``lastState``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from steersman.kubelet.agent.cri import (
    POD_UID_LABEL,
    ContainerState,
    ContainerStatus,
    SandboxStatus,
)


@dataclass(frozen=True)
class PodView:
    """One pod's sandbox (the newest) and its containers by name, oldest instance first."""

    sandbox: SandboxStatus | None = None
    containers: Mapping[str, Sequence[ContainerStatus]] = field(default_factory=dict)
    stale_sandboxes: tuple[SandboxStatus, ...] = ()

    def latest(self, name: str) -> ContainerStatus | None:
        instances = self.containers.get(name) or ()
        return instances[-1] if instances else None

    def previous(self, name: str) -> ContainerStatus | None:
        instances = self.containers.get(name) or ()
        return instances[-2] if len(instances) > 1 else None

    def running(self) -> list[ContainerStatus]:
        return [c for c in self.all() if c.state is ContainerState.RUNNING]

    def all(self) -> list[ContainerStatus]:
        return [c for instances in self.containers.values() for c in instances]

    @property
    def sandbox_ready(self) -> bool:
        return self.sandbox is not None and self.sandbox.ready


def pod_views(sandboxes: Iterable[SandboxStatus],
              containers: Iterable[ContainerStatus]) -> dict[str, PodView]:
    """Every pod UID the runtime knows, with its view."""
    boxes: dict[str, list[SandboxStatus]] = defaultdict(list)
    for sandbox in sandboxes:
        boxes[sandbox.labels.get(POD_UID_LABEL, "")].append(sandbox)
    by_pod: dict[str, dict[str, list[ContainerStatus]]] = defaultdict(lambda: defaultdict(list))
    for container in containers:
        by_pod[container.labels.get(POD_UID_LABEL, "")][container.name].append(container)
    views: dict[str, PodView] = {}
    for uid in (set(boxes) | set(by_pod)) - {""}:
        ordered = sorted(boxes.get(uid, []), key=lambda s: (s.ready, s.created_at))
        named = {name: sorted(items, key=_instance_order)
                 for name, items in by_pod.get(uid, {}).items()}
        views[uid] = PodView(ordered[-1] if ordered else None, named, tuple(ordered[:-1]))
    return views


def _instance_order(container: ContainerStatus) -> tuple[int, float]:
    return container.restart_count, container.created_at
