"""What the streaming server needs from the node agent and the runtime, as small protocols.

The node's streaming server (:mod:`.server`) does not know how pods run. The agent hands it

* a :class:`PodResolver`: a pod by namespace and name → a :class:`PodTarget` (its
  containers' runtime ids and CRI log files, and how to open a TCP connection to one of the
  pod's ports), and whether a container is still running (``logs -f`` ends when it stops);
* a :class:`StreamingRuntime`: ``exec`` a command in a container, or ``attach`` to its main
  process, wired to an :class:`ExecIO` that the server connects to the client's streams.

A runtime reports an expected failure (no such executable, container gone) by raising
:class:`ExecFailed` with a message the user reads; the exit code of a command that ran is
the return value of ``exec``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

Output = Callable[[bytes], Awaitable[None]]
Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]
Connect = Callable[[int], Awaitable[Connection]]


@dataclass(frozen=True, slots=True)
class ContainerTarget:
    """One container of a pod as the runtime knows it ("" id: not started yet)."""

    name: str
    container_id: str
    log_path: Path | None = None
    previous_log_path: Path | None = None


@dataclass(frozen=True, slots=True)
class PodTarget:
    """A pod on this node: its containers by name and a dialer for its ports."""

    namespace: str
    name: str
    uid: str
    containers: Mapping[str, ContainerTarget]
    connect: Connect


class PodResolver(Protocol):
    """The agent's view of the pods it runs (asking the runtime may take I/O)."""

    async def pod(self, namespace: str, name: str) -> PodTarget | None: ...

    async def container_running(self, container_id: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class TerminalSize:
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class ExecIO:
    """The client's streams for one exec or attach; None where the client did not ask.

    ``stdin`` reaches EOF when the client closes its input. With ``tty`` there is no
    separate stderr: the terminal's output goes to ``stdout``. ``resizes`` carries terminal
    size changes (tty only).
    """

    tty: bool
    stdin: asyncio.StreamReader | None
    stdout: Output | None
    stderr: Output | None
    resizes: asyncio.Queue[TerminalSize]


class ExecFailed(Exception):
    """The command could not be run (not: it ran and exited non-zero)."""


class StreamingRuntime(Protocol):
    """The runtime operations the streaming server drives."""

    async def exec(self, container_id: str, command: Sequence[str], io: ExecIO) -> int:
        """Run ``command`` in the container wired to ``io``; its exit code."""
        ...

    async def attach(self, container_id: str, io: ExecIO) -> None:
        """Stream the container's main process until it exits or the client leaves."""
        ...
