"""InformerFactory: shared informers, late starts, and discarding one that is no longer served."""

from __future__ import annotations

import asyncio
from typing import Any

from steersman.client import CONFIGMAPS, Client, ClientConfig, Resource
from steersman.controllers.runtime import InformerFactory

WIDGETS = Resource("example.com", "v1", "widgets", kind="Widget")


def informer_tasks() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("informer-")]


async def test_late_informers_start_and_discarded_ones_stop() -> None:
    # The client points nowhere: informers only need to exist as tasks here.
    async with Client(ClientConfig(server="https://127.0.0.1:9")) as client:
        factory = InformerFactory(client)
        shared = factory.informer(CONFIGMAPS)
        assert factory.informer(CONFIGMAPS) is shared
        factory.start()
        widgets = factory.informer(WIDGETS)
        factory.start()
        assert len(informer_tasks()) == 2
        await factory.discard(WIDGETS)
        assert len(informer_tasks()) == 1
        assert factory.informer(WIDGETS) is not widgets
        await factory.discard(WIDGETS)
        await factory.stop()
        assert informer_tasks() == []
