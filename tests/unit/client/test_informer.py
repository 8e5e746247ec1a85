"""The informer's reflector loop against a scripted lister/watcher: list, watch, 410, retry."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

import pytest

from steersman.client import (
    NODE_NAME_INDEX,
    PODS,
    FakeClock,
    Informer,
    Resource,
    ResourceExpired,
    ServerUnreachable,
    by_node_name,
)

Object = dict[str, Any]
Step = tuple[str, Object] | BaseException


def pod(name: str, rv: int, node: str = "", namespace: str = "ns") -> Object:
    return {"metadata": {"name": name, "namespace": namespace, "resourceVersion": str(rv)},
            "spec": {"nodeName": node} if node else {}}


def bookmark(rv: int) -> tuple[str, Object]:
    return "BOOKMARK", {"metadata": {"resourceVersion": str(rv)}}


class ScriptedStream:
    def __init__(self, steps: list[Step] | None, resource_version: str) -> None:
        self._steps = steps
        self.resource_version = resource_version

    async def __aenter__(self) -> ScriptedStream:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        return None

    def __aiter__(self) -> AsyncIterator[tuple[str, Object]]:
        return self._events()

    async def _events(self) -> AsyncIterator[tuple[str, Object]]:
        if self._steps is None:  # no more scripted watches: an open, idle stream
            await asyncio.Event().wait()
        for step in self._steps or []:
            if isinstance(step, BaseException):
                raise step
            kind, obj = step
            self.resource_version = obj["metadata"]["resourceVersion"]
            if kind != "BOOKMARK":
                yield kind, obj


class ScriptedApi:
    """Answers lists and watches from scripts; records where each watch started."""

    def __init__(self, lists: list[list[Object] | BaseException],
                 watches: list[list[Step]]) -> None:
        self.lists = lists
        self.watches = watches
        self.watched_from: list[str] = []
        self.list_calls = 0

    async def list_all(self, resource: Resource, **_: Any) -> Object:
        self.list_calls += 1
        answer = self.lists.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        top = max((int(o["metadata"]["resourceVersion"]) for o in answer), default=1)
        return {"metadata": {"resourceVersion": str(top)}, "items": answer}

    def watch(self, resource: Resource, *, resource_version: str = "",
              **_: Any) -> ScriptedStream:
        self.watched_from.append(resource_version)
        steps = self.watches.pop(0) if self.watches else None
        return ScriptedStream(steps, resource_version)


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    def add(self, obj: Object) -> None:
        self.events.append(("add", obj["metadata"]["name"], obj["metadata"]["resourceVersion"]))

    def update(self, old: Object, new: Object) -> None:
        self.events.append(("update", new["metadata"]["name"],
                            f'{old["metadata"]["resourceVersion"]}->'
                            f'{new["metadata"]["resourceVersion"]}'))

    def delete(self, obj: Object) -> None:
        self.events.append(("delete", obj["metadata"]["name"],
                            obj["metadata"]["resourceVersion"]))


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def start(api: ScriptedApi, clock: FakeClock, **options: Any) -> tuple[Informer, Recorder]:
    informer = Informer(api, PODS, clock=clock, rng=random.Random(0),
                        indexers={NODE_NAME_INDEX: by_node_name}, **options)
    recorder = Recorder()
    informer.add_handlers(on_add=recorder.add, on_update=recorder.update,
                          on_delete=recorder.delete)
    return informer, recorder


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def run_until_idle(informer: Informer) -> asyncio.Task[None]:
    task = asyncio.create_task(informer.run())
    await asyncio.wait_for(informer.wait_synced(), 1)
    await settle()
    return task


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_list_then_watch_fills_the_cache_and_indexes(clock: FakeClock) -> None:
    api = ScriptedApi(
        lists=[[pod("a", 2, "n1"), pod("b", 3, "n2")]],
        watches=[[("ADDED", pod("c", 4, "n1")), ("MODIFIED", pod("a", 5, "n2")),
                  ("DELETED", pod("b", 6, "n2")), bookmark(9)]])
    informer, recorder = start(api, clock)
    assert not informer.has_synced
    task = await run_until_idle(informer)
    assert recorder.events == [("add", "a", "2"), ("add", "b", "3"), ("add", "c", "4"),
                               ("update", "a", "2->5"), ("delete", "b", "6")]
    assert sorted(informer.indexer.keys()) == ["ns/a", "ns/c"]
    assert [o["metadata"]["name"] for o in informer.indexer.by_index(NODE_NAME_INDEX, "n1")] \
        == ["c"]
    assert [o["metadata"]["name"] for o in informer.indexer.by_index("namespace", "ns")] \
        == ["a", "c"]
    assert api.watched_from == ["3", "9"]  # the second watch resumes from the bookmark
    await stop(task)


async def test_expired_watch_relists_and_hands_over_the_difference(clock: FakeClock) -> None:
    api = ScriptedApi(
        lists=[[pod("keep", 2), pod("change", 3), pod("gone", 4)],
               [pod("keep", 2), pod("change", 10), pod("new", 11)]],
        watches=[[ResourceExpired(410, "Expired", "too old resource version")]])
    informer, recorder = start(api, clock)
    task = await run_until_idle(informer)
    assert recorder.events[3:] == [("delete", "gone", "4"), ("update", "change", "3->10"),
                                   ("add", "new", "11")]
    assert sorted(informer.indexer.keys()) == ["ns/change", "ns/keep", "ns/new"]
    assert api.list_calls == 2 and api.watched_from == ["4", "11"]
    await stop(task)


async def test_a_broken_watch_resumes_from_the_last_revision_after_back_off(
        clock: FakeClock) -> None:
    api = ScriptedApi(lists=[[pod("a", 2)]],
                      watches=[[("MODIFIED", pod("a", 7)), ServerUnreachable("reset")]])
    informer, recorder = start(api, clock)
    task = await run_until_idle(informer)
    assert api.watched_from == ["2"]
    clock.advance(0.8)
    await settle()
    assert api.watched_from == ["2", "7"] and api.list_calls == 1
    assert recorder.events == [("add", "a", "2"), ("update", "a", "2->7")]
    await stop(task)


async def test_a_failed_list_is_retried_with_back_off(clock: FakeClock) -> None:
    api = ScriptedApi(lists=[ServerUnreachable("refused"), ServerUnreachable("refused"),
                             [pod("a", 2)]], watches=[])
    informer, _ = start(api, clock)
    task = asyncio.create_task(informer.run())
    await settle()
    assert api.list_calls == 1 and clock.next_deadline() == pytest.approx(clock.now() + 0.8)
    clock.advance(0.8)
    await settle()
    assert api.list_calls == 2 and clock.next_deadline() == pytest.approx(clock.now() + 1.6)
    clock.advance(1.6)
    await asyncio.wait_for(informer.wait_synced(), 1)
    await stop(task)


async def test_replayed_revisions_are_not_handed_out_twice(clock: FakeClock) -> None:
    api = ScriptedApi(lists=[[pod("a", 2)]],
                      watches=[[("ADDED", pod("a", 2)), ("MODIFIED", pod("a", 3)),
                                ("MODIFIED", pod("a", 3))]])
    informer, recorder = start(api, clock)
    task = await run_until_idle(informer)
    assert recorder.events == [("add", "a", "2"), ("update", "a", "2->3")]
    await stop(task)


async def test_a_failing_handler_does_not_stop_the_informer(clock: FakeClock) -> None:
    api = ScriptedApi(lists=[[pod("a", 2)]], watches=[[("ADDED", pod("b", 3))]])
    informer, recorder = start(api, clock)

    def explode(obj: Object) -> None:
        raise RuntimeError("handler bug")

    informer.add_handlers(on_add=explode)
    task = await run_until_idle(informer)
    assert [event[1] for event in recorder.events] == ["a", "b"]
    await stop(task)


async def test_resync_replays_every_cached_object_as_an_update(clock: FakeClock) -> None:
    api = ScriptedApi(lists=[[pod("a", 2), pod("b", 3)]], watches=[])
    informer, recorder = start(api, clock, resync_period=30)
    task = await run_until_idle(informer)
    listed = informer.indexer.get("ns/a") or {}
    assert (listed["kind"], listed["apiVersion"]) == ("Pod", "v1")  # lists omit them
    clock.advance(30)
    await settle()
    assert recorder.events[2:] == [("update", "a", "2->2"), ("update", "b", "3->3")]
    await stop(task)


async def test_an_empty_watch_that_ends_at_once_backs_off(clock: FakeClock) -> None:
    api = ScriptedApi(lists=[[pod("a", 2)]], watches=[[], []])
    informer, _ = start(api, clock)
    task = await run_until_idle(informer)
    assert api.watched_from == ["2"]
    clock.advance(0.8)
    await settle()
    assert api.watched_from == ["2", "2"]
    clock.advance(1.6)
    await settle()
    assert api.watched_from == ["2", "2", "2"]
    await stop(task)
