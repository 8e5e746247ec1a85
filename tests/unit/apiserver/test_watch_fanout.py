"""Watch fan-out: one encoding per event shared by every watcher; cheap wake-ups and timeouts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import Any

import orjson
import pytest

from steersman.apiserver.watchcache import CachedEvent, Watcher


def _event(kind: str = "ADDED") -> CachedEvent:
    pod = {"kind": "Pod", "metadata": {"name": "web", "namespace": "ns",
                                       "resourceVersion": "7"}}
    return CachedEvent(kind, pod, None, 7)


def test_line_is_the_watch_event_encoded_once_per_visible_type() -> None:
    event = _event("MODIFIED")
    line = event.line("MODIFIED")
    assert line.endswith(b"\n")
    assert orjson.loads(line) == {"type": "MODIFIED", "object": event.obj}
    assert event.line("MODIFIED") is line
    assert orjson.loads(event.line("ADDED"))["type"] == "ADDED"


async def test_offer_wakes_a_waiting_reader() -> None:
    watcher = Watcher(lambda obj: True)
    reader = asyncio.create_task(watcher.next_batch(5.0))
    await asyncio.sleep(0)
    event = _event()
    watcher.offer(event)
    assert await asyncio.wait_for(reader, 1.0) == [("ADDED", event)]


async def test_an_idle_reader_times_out_with_an_empty_batch_and_can_wait_again() -> None:
    watcher = Watcher(lambda obj: True)
    assert await watcher.next_batch(0.01) == []
    watcher.offer(_event())
    assert len(await watcher.next_batch(0.01) or []) == 1


async def test_waits_share_one_timer_that_still_times_out_each_wait_on_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    watcher = Watcher(lambda obj: True)
    loop = asyncio.get_running_loop()
    armed: list[float] = []
    call_at = loop.call_at

    def counting_call_at(when: float, *args: Any, **kwargs: Any) -> asyncio.TimerHandle:
        armed.append(when)
        return call_at(when, *args, **kwargs)

    monkeypatch.setattr(loop, "call_at", counting_call_at)
    for _ in range(3):  # woken by an event well before its timeout, as a busy stream is
        reader = asyncio.create_task(watcher.next_batch(0.2))
        await asyncio.sleep(0)
        watcher.offer(_event())
        assert len(await reader or []) == 1
    assert len(armed) == 1
    began = loop.time()
    assert await watcher.next_batch(0.3) == []  # the first timer fires early and re-arms
    assert loop.time() - began >= 0.29
    assert len(armed) == 2


async def test_a_shorter_timeout_than_the_armed_timer_is_kept() -> None:
    watcher = Watcher(lambda obj: True)
    reader = asyncio.create_task(watcher.next_batch(60.0))
    await asyncio.sleep(0)
    watcher.offer(_event())
    await reader
    assert await asyncio.wait_for(watcher.next_batch(0.01), 1.0) == []


async def test_close_ends_a_waiting_reader() -> None:
    watcher = Watcher(lambda obj: True)
    reader = asyncio.create_task(watcher.next_batch(None))
    await asyncio.sleep(0)
    watcher.close()
    assert await asyncio.wait_for(reader, 1.0) is None


async def test_a_cancelled_reader_leaves_the_watcher_usable() -> None:
    watcher = Watcher(lambda obj: True)
    reader = asyncio.create_task(watcher.next_batch(5.0))
    await asyncio.sleep(0)
    reader.cancel()
    await asyncio.gather(reader, return_exceptions=True)
    watcher.offer(_event())
    assert len(await watcher.next_batch(0.01) or []) == 1


async def test_watchers_with_one_selection_share_one_filter_evaluation_per_event() -> None:
    calls: list[str] = []

    def on_node(node: str) -> Callable[[dict[str, Any]], bool]:
        def predicate(obj: dict[str, Any]) -> bool:
            calls.append(node)
            return bool(obj["metadata"].get("nodeName") == node)
        return predicate

    same = [Watcher(on_node("a"), selection=("", "", "", "spec.nodeName=a")) for _ in range(3)]
    other = Watcher(on_node("b"), selection=("", "", "", "spec.nodeName=b"))
    unkeyed = Watcher(on_node("a"))
    seen: dict[Hashable, str | None] = {}
    event = CachedEvent("ADDED", {"metadata": {"name": "p", "nodeName": "a"}}, None, 3)
    for watcher in [*same, other, unkeyed]:
        watcher.offer(event, seen)
    assert sorted(calls) == ["a", "a", "b"]  # one for the three keyed "a"s, one unkeyed
    for watcher in [*same, unkeyed]:
        assert await watcher.next_batch(0.01) == [("ADDED", event)]
    assert await other.next_batch(0.01) == []
    # A MODIFIED that moves the object out of one selection and into another.
    calls.clear()
    moved = CachedEvent("MODIFIED", {"metadata": {"name": "p", "nodeName": "b"}},
                        event.obj, 4)
    seen = {}
    for watcher in [*same, other]:
        watcher.offer(moved, seen)
    assert [await w.next_batch(0.01) for w in same] == [[("DELETED", moved)]] * 3
    assert await other.next_batch(0.01) == [("ADDED", moved)]
    assert sorted(calls) == ["a", "a", "b", "b"]  # obj and prev, once per selection
