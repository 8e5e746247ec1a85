"""Waiting for Ctrl-C or SIGTERM, shared by every long-running ``steersman`` command."""

from __future__ import annotations

import asyncio
import contextlib
import signal


async def wait_for_stop_signal(*, unless_done: asyncio.Task[None] | None = None) -> bool:
    """Block until SIGINT/SIGTERM (True) or until ``unless_done`` finishes (False)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Event loops without signal support (e.g. on Windows) raise NotImplementedError;
        # Ctrl-C then still ends the process through KeyboardInterrupt.
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    waiter = asyncio.create_task(stop.wait())
    watched = {waiter} if unless_done is None else {waiter, unless_done}
    try:
        await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    return stop.is_set()
