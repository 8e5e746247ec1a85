"""Watch fan-out: one encoding per event shared by every watcher; cheap wake-ups and timeouts."""

from __future__ import annotations

import asyncio

import orjson

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
