"""Builders and fakes shared by the scheduler tests: nodes, pods, a binder, a recorder."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from steersman.scheduler.cache import SchedulerCache
from steersman.scheduler.framework.interface import (
    SUCCESS,
    BatchFilterPlugin,
    Code,
    CycleState,
    FilterPlugin,
    PreFilterPlugin,
    Status,
)
from steersman.scheduler.framework.types import PodInfo


def make_node(name: str, *, cpu: str = "4", memory: str = "32Gi", pods: str = "110",
              labels: Mapping[str, str] | None = None, taints: Sequence[Mapping[str, str]] = (),
              unschedulable: bool = False, extra: Mapping[str, str] | None = None,
              images: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    allocatable = {"cpu": cpu, "memory": memory, "pods": pods, **(extra or {})}
    return {"metadata": {"name": name,
                         "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
            "spec": {"taints": list(taints), "unschedulable": unschedulable},
            "status": {"allocatable": allocatable, "images": list(images)}}


def make_pod(name: str, *, namespace: str = "default", cpu: str | None = "100m",
             memory: str | None = None, labels: Mapping[str, str] | None = None,
             node_name: str = "", priority: int | None = None,
             extra_requests: Mapping[str, str] | None = None,
             **spec: Any) -> dict[str, Any]:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    requests.update(extra_requests or {})
    container: dict[str, Any] = {"name": "c", "image": spec.pop("image", "nginx"),
                                 "resources": {"requests": requests}}
    if "ports" in spec:
        container["ports"] = spec.pop("ports")
    body: dict[str, Any] = {"schedulerName": "default-scheduler", "containers": [container],
                            **spec}
    if node_name:
        body["nodeName"] = node_name
    if priority is not None:
        body["priority"] = priority
    return {"metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}",
                         "labels": dict(labels or {}),
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": body}


def cluster(nodes: Sequence[Mapping[str, Any]], pods: Sequence[Mapping[str, Any]] = ()
            ) -> SchedulerCache:
    cache = SchedulerCache()
    for node in nodes:
        cache.add_node(node)
    for pod in pods:
        cache.add_pod(PodInfo(pod))
    return cache


def filter_all(plugin: Any, cache: SchedulerCache, pod: Mapping[str, Any]) -> dict[str, Status]:
    """Run a plugin's PreFilter then Filter on every node, as the runtime would; a plugin
    that also filters in batches must give the same answers that way."""
    info = PodInfo(pod)
    state = CycleState(cache.snapshot())
    if isinstance(plugin, PreFilterPlugin):
        _, status = plugin.pre_filter(state, info)
        if status.code is Code.SKIP:
            return {n.name: SUCCESS for n in state.snapshot.nodes}
        if not status.is_success:
            return {n.name: status for n in state.snapshot.nodes}
    assert isinstance(plugin, FilterPlugin)
    statuses = {n.name: plugin.filter(state, info, n) for n in state.snapshot.nodes}
    if isinstance(plugin, BatchFilterPlugin):
        rejected: dict[str, Status] = {}
        passed = plugin.filter_nodes(state, info, list(state.snapshot.nodes), rejected)
        assert [n.name for n in passed] == [k for k, s in statuses.items() if s.is_success]
        assert rejected == {k: s for k, s in statuses.items() if not s.is_success}
    return statuses


class FakeBinder:
    """Records writes; ``fail_binds`` makes the next N bindings raise."""

    def __init__(self) -> None:
        self.bindings: dict[str, str] = {}
        self.unschedulable: dict[str, tuple[str, str | None]] = {}
        self.deleted: list[str] = []
        self.fail_binds = 0

    async def bind(self, pod: Mapping[str, Any], node_name: str) -> None:
        if self.fail_binds:
            self.fail_binds -= 1
            raise RuntimeError("conflict")
        self.bindings[pod["metadata"]["name"]] = node_name

    async def set_unschedulable(self, pod: Mapping[str, Any], *, message: str,
                                nominated_node_name: str | None = None) -> None:
        self.unschedulable[pod["metadata"]["name"]] = (message, nominated_node_name)

    async def delete_victim(self, victim: Mapping[str, Any], *, preemptor: Mapping[str, Any],
                            node_name: str) -> None:
        self.deleted.append(victim["metadata"]["name"])


class FakeRecorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str, str]] = []

    def event(self, obj: Mapping[str, Any], type: str, reason: str, message: str) -> None:
        self.events.append((obj["metadata"]["name"], type, reason, message))

    def messages(self, reason: str) -> list[str]:
        return [message for _, _, r, message in self.events if r == reason]
