"""Informer adapters: status-only and heartbeat updates never reach the scheduler."""

from __future__ import annotations

from typing import Any, cast

from steersman.scheduler.informer_handlers import NodeEvents, PodEvents
from steersman.scheduler.scheduler import Scheduler
from tests.unit.scheduler.fixtures import make_node, make_pod


class Recording:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __getattr__(self, name: str) -> Any:
        return lambda obj: self.calls.append((name, obj["metadata"]["name"]))


def with_status(obj: dict[str, Any], **status: Any) -> dict[str, Any]:
    return {**obj, "status": {**obj.get("status", {}), **status}}


def test_status_only_pod_updates_are_skipped() -> None:
    recording = Recording()
    events = PodEvents(cast(Scheduler, recording))
    pending = make_pod("p")
    events.on_update(pending, with_status(pending, conditions=[{"type": "PodScheduled"}]))
    assert recording.calls == []
    events.on_update(pending, {**pending, "spec": {**pending["spec"], "nodeName": "n1"}})
    relabelled = {**pending, "metadata": {**pending["metadata"], "labels": {"a": "b"}}}
    events.on_update(pending, relabelled)
    assert recording.calls == [("on_pod_update", "p"), ("on_pod_update", "p")]


def test_terminal_pods_leave_the_cache_and_are_never_added() -> None:
    recording = Recording()
    events = PodEvents(cast(Scheduler, recording))
    running = with_status(make_pod("p", node_name="n1"), phase="Running")
    done = with_status(running, phase="Succeeded")
    events.on_add(done)
    events.on_update(running, done)
    events.on_update(done, done)
    assert recording.calls == [("on_pod_delete", "p")]


def test_node_heartbeats_are_skipped_but_real_changes_pass() -> None:
    recording = Recording()
    events = NodeEvents(cast(Scheduler, recording))
    node = make_node("n1")
    events.on_update(node, with_status(node, conditions=[{"type": "Ready", "status": "True"}]))
    assert recording.calls == []
    events.on_update(node, make_node("n1", labels={"disktype": "ssd"}))
    events.on_update(node, make_node("n1", cpu="8"))
    events.on_update(node, make_node("n1", unschedulable=True))
    assert recording.calls == [("on_node_update", "n1")] * 3
