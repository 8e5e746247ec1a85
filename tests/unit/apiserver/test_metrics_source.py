"""metrics.k8s.io's arithmetic: the kubelet text parsed, CPU rates between samples, caching."""

from __future__ import annotations

import asyncio

import pytest

from steersman.apiserver.metrics_api import go_duration
from steersman.apiserver.metrics_scrape import (
    NodeSample,
    Point,
    ScrapeError,
    parse_resource_metrics,
)
from steersman.apiserver.metrics_source import MetricsSource, NodeUsage
from steersman.client import FakeClock
from steersman.kubelet.stats import ContainerUsage, UsageSnapshot, render_resource_metrics

NODE = {"metadata": {"name": "n1"}}
KEY = ("default", "web", "app")


def test_parses_what_the_node_agent_renders() -> None:
    snapshot = UsageSnapshot(timestamp=1000.25, node_cpu_seconds=12.5, node_memory_bytes=4096,
                             containers=(ContainerUsage("default", 'we"b', "app", 1.5, 2048,
                                                        990.0),))
    sample = parse_resource_metrics(render_resource_metrics(snapshot))
    assert sample.node == Point(12.5, 4096, 1000.25)
    assert sample.containers == {("default", 'we"b', "app"): Point(1.5, 2048, 1000.25, 990.0)}


def test_rejects_a_document_without_node_figures() -> None:
    with pytest.raises(ValueError, match="node_cpu_usage_seconds_total"):
        parse_resource_metrics("# HELP x\nresource_scrape_error 0 1\n")
    with pytest.raises(ValueError, match="malformed"):
        parse_resource_metrics("node_cpu_usage_seconds_total\n")


def test_go_durations() -> None:
    assert [go_duration(s) for s in (0, 15, 1.002, 20.036, 60.5, 3725)] == [
        "0s", "15s", "1.002s", "20.036s", "1m0.5s", "1h2m5s"]


class Scraper:
    """Cumulative CPU that grows by ``cores`` per second of the fake clock."""

    def __init__(self, clock: FakeClock, cores: float = 0.5) -> None:
        self.clock, self.cores, self.calls, self.fail = clock, cores, 0, False

    async def __call__(self, node: object) -> NodeSample:
        self.calls += 1
        if self.fail:
            raise ScrapeError('cannot reach the node agent of node "n1" at 127.0.0.1:1')
        now = self.clock.now()
        used = (now - 1000) * self.cores
        return NodeSample(Point(used * 2, 100, now), {KEY: Point(used, 50, now, 1000.0)})


async def _usage(source: MetricsSource, clock: FakeClock) -> NodeUsage:
    task = asyncio.ensure_future(source.usage(NODE))
    while not task.done():
        await asyncio.sleep(0)
        deadline = clock.next_deadline()
        if deadline is not None:
            clock.advance(deadline - clock.now())
    return task.result()


async def test_first_request_takes_two_samples_then_caches() -> None:
    clock = FakeClock(start=1100)
    scraper = Scraper(clock)
    source = MetricsSource(scraper, clock=clock, max_age=5, first_window=1)
    usage = await _usage(source, clock)
    assert scraper.calls == 2
    assert usage.node.window == 1 and usage.node.cpu_nanocores == 1_000_000_000
    assert usage.containers[KEY].cpu_nanocores == 500_000_000
    assert usage.containers[KEY].memory_bytes == 50
    clock.advance(3)
    await _usage(source, clock)
    assert scraper.calls == 2  # still fresh
    clock.advance(12)
    usage = await _usage(source, clock)
    assert scraper.calls == 3 and usage.node.window == 15


async def test_stale_sample_is_not_used_as_the_earlier_point() -> None:
    clock = FakeClock(start=1100)
    scraper = Scraper(clock)
    source = MetricsSource(scraper, clock=clock, max_age=5, max_window=60, first_window=1)
    await _usage(source, clock)
    clock.advance(600)
    usage = await _usage(source, clock)
    assert scraper.calls == 4 and usage.node.window == 1


async def test_a_new_container_is_measured_from_its_start() -> None:
    clock = FakeClock(start=1100)
    earlier = NodeSample(Point(0, 1, 1100), {})
    later = NodeSample(Point(1, 1, 1110), {KEY: Point(2.0, 7, 1110, 1106.0)})
    samples = iter([earlier, later])

    async def scrape(node: object) -> NodeSample:
        return next(samples)

    usage = await _usage(MetricsSource(scrape, clock=clock), clock)
    assert usage.containers[KEY].cpu_nanocores == 500_000_000
    assert usage.containers[KEY].window == 4


async def test_failures_are_remembered_briefly() -> None:
    clock = FakeClock(start=1100)
    scraper = Scraper(clock)
    scraper.fail = True
    source = MetricsSource(scraper, clock=clock, max_age=5)
    with pytest.raises(ScrapeError, match='node "n1"'):
        await _usage(source, clock)
    with pytest.raises(ScrapeError):
        await _usage(source, clock)
    assert scraper.calls == 1
    scraper.fail = False
    clock.advance(6)
    usage = await _usage(source, clock)
    assert usage.node.cpu_nanocores == 1_000_000_000 and scraper.calls == 3
