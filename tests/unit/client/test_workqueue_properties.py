"""Property test: any sequence of queue operations keeps the work queue's invariants.

* an item is never handed out while it is being processed;
* the ready queue holds each item at most once;
* every add is honoured: once everything in flight is done and time has passed, each item
  added since it was last handed out is handed out again.
"""

from __future__ import annotations

import asyncio

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from steersman.client import FakeClock, ItemExponentialBackoff, WorkQueue

ITEMS = st.sampled_from("abcde")


class WorkQueueMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock(start=0.0)
        self.queue: WorkQueue[str] = WorkQueue(
            clock=self.clock, rate_limiter=ItemExponentialBackoff(base=1.0, cap=8.0))
        self.processing: set[str] = set()
        self.owed: set[str] = set()

    @rule(item=ITEMS)
    def add(self, item: str) -> None:
        self.queue.add(item)
        self.owed.add(item)

    @rule(item=ITEMS, delay=st.floats(min_value=0, max_value=10))
    def add_after(self, item: str, delay: float) -> None:
        self.queue.add_after(item, delay)
        self.owed.add(item)

    @rule(item=ITEMS)
    def add_rate_limited(self, item: str) -> None:
        self.queue.add_rate_limited(item)
        self.owed.add(item)

    @rule(item=ITEMS)
    def forget(self, item: str) -> None:
        self.queue.forget(item)

    @rule()
    def get(self) -> None:
        try:
            item = self.queue.get_nowait()
        except asyncio.QueueEmpty:
            return
        assert item not in self.processing, f"{item} handed out twice"
        self.processing.add(item)
        self.owed.discard(item)

    @rule(data=st.data())
    def done(self, data: st.DataObject) -> None:
        if self.processing:
            item = data.draw(st.sampled_from(sorted(self.processing)))
            self.queue.done(item)
            self.processing.discard(item)

    @rule(seconds=st.floats(min_value=0, max_value=5))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @invariant()
    def ready_items_are_distinct_and_not_in_flight(self) -> None:
        assert len(self.queue) <= 5 - len(self.processing)

    def teardown(self) -> None:
        for _ in range(10):
            for item in sorted(self.processing):
                self.queue.done(item)
            self.processing.clear()
            self.clock.advance(100)
            while True:
                try:
                    item = self.queue.get_nowait()
                except asyncio.QueueEmpty:
                    break
                self.owed.discard(item)
                self.processing.add(item)
        assert not self.owed, f"adds never honoured: {sorted(self.owed)}"


TestWorkQueueProperties = WorkQueueMachine.TestCase
