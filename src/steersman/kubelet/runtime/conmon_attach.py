"""A container's stdin through conmon's attach socket (what ``kubectl attach -i`` writes).

conmon started with ``--stdin`` holds a pipe to the container's stdin and listens on a
``SOCK_SEQPACKET`` socket, ``attach``, in the bundle directory: what a client sends goes
to the stdin; the container's output comes back as packets whose first byte names the
stream. When a client's end closes, conmon closes the stdin unless it runs with
``--leave-stdin-open`` (a container without ``stdinOnce``).

asyncio's stream transports refuse ``SOCK_SEQPACKET``, so :func:`open_attach` hands out a
writer over one end of a stream socket pair and a task relays the other end to conmon,
discarding the output (the CRI log has it). Once the writer is closed and what it wrote
is sent, the relay shuts down its sending side (conmon reads the end of input), as CRI-O
does. With ``once`` it then keeps reading until conmon closes the connection: conmon 2.1
frees a connection whose output it failed to write back and, reading the end of input
afterwards, uses it freed, skipping the close of the stdin. When conmon goes away first
the relay closes the pair (the writer then sees a broken pipe). Neighbours: :mod:`.shim`
starts conmon.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from pathlib import Path

from steersman.kubelet.runtime.interface import InvalidState

PACKET = 8192  # conmon reads up to 32 KiB a packet and drops the rest; stay well below
_relays: set[asyncio.Task[None]] = set()  # referenced until done: the loop keeps weak ones


async def open_attach(bundle: Path, *, once: bool) -> asyncio.StreamWriter:
    """A writer into the stdin of the container whose conmon serves ``bundle/attach``;
    ``once``: conmon closes that stdin when the writer is closed."""
    conmon = await _connect(bundle)
    ours, relay_end = socket.socketpair()
    relay_end.setblocking(False)
    try:
        _, writer = await asyncio.open_unix_connection(sock=ours)
    except BaseException:
        for sock in (conmon, ours, relay_end):
            sock.close()
        raise
    task = asyncio.create_task(_relay(relay_end, conmon, once=once))
    _relays.add(task)
    task.add_done_callback(_relays.discard)
    return writer


async def _connect(bundle: Path) -> socket.socket:
    """Connect through ``/proc/self/fd``: the bundle's path may not fit in ``sun_path``."""
    conmon = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
    conmon.setblocking(False)
    try:
        directory = os.open(bundle, os.O_PATH | os.O_CLOEXEC)
        try:
            await asyncio.get_running_loop().sock_connect(
                conmon, f"/proc/self/fd/{directory}/attach"
            )
        finally:
            os.close(directory)
    except OSError as err:
        conmon.close()
        raise InvalidState(
            f"the container's conmon is not attachable (it has exited?): {err.strerror}"
        ) from None
    return conmon


async def _relay(ours: socket.socket, conmon: socket.socket, *, once: bool) -> None:
    forwarding = asyncio.create_task(_forward(ours, conmon))
    discarding = asyncio.create_task(_discard(conmon))
    try:
        await asyncio.wait((forwarding, discarding), return_when=asyncio.FIRST_COMPLETED)
        if forwarding.done():
            ours.close()  # before the wait below: the writer's side ends now
            with contextlib.suppress(OSError):
                conmon.shutdown(socket.SHUT_WR)  # conmon reads the end of input
            if once:
                await discarding
    finally:
        for task in (forwarding, discarding):
            task.cancel()
        await asyncio.gather(forwarding, discarding, return_exceptions=True)
        conmon.close()
        ours.close()


async def _forward(ours: socket.socket, conmon: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    with contextlib.suppress(OSError):
        while data := await loop.sock_recv(ours, PACKET):
            await loop.sock_sendall(conmon, data)


async def _discard(conmon: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    with contextlib.suppress(OSError):
        while await loop.sock_recv(conmon, 2 * PACKET):
            pass
