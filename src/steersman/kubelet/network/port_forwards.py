"""``hostPort`` in ``host`` mode: relays from the node's address to a pod's IP, in-process.

Pods in host mode share the node's namespace but bind their own loopback IP, so "the node's
address on ``hostPort``" needs a listener of its own there. :class:`PortForwards` opens, per
pod, one asyncio TCP server or UDP socket on ``node_ip:hostPort`` per
:class:`~.interface.HostPort`, relaying to ``pod_ip:containerPort``: TCP byte streams both
ways with back-pressure and half-close; UDP with one connected upstream socket per client
address, closed after ``UDP_IDLE_SECONDS`` without traffic. A port that cannot be bound
(held by another process, or below 1024 without privileges) is a :class:`NetworkError` with
reason ``HostPortUnavailable`` and nothing of the pod's stays open. Closing a pod's
forwards closes its listeners and cuts the connections they relay.

Why not the service proxy's relay (:mod:`steersman.proxy.relay`): the kubelet must not
import the proxy, and that relay is built around a route and a balancer over changing
endpoints; a host port has one fixed destination, which this small module serves.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any, cast

from steersman.kubelet.network.interface import HostPort, NetworkError

UDP_IDLE_SECONDS = 30.0
_CHUNK = 65536


class PortForwards:
    """The host-port listeners of a node's pods, by pod UID."""

    def __init__(self) -> None:
        self._pods: dict[str, list[_Listener]] = {}

    def forwarding(self, uid: str) -> bool:
        return uid in self._pods

    async def open(self, uid: str, pod_ip: str, ports: tuple[HostPort, ...]) -> None:
        """Listen on each port's ``host_ip:host_port`` for pod ``uid`` (all or none)."""
        if uid in self._pods or not ports:
            return
        listeners: list[_Listener] = []
        try:
            for port in ports:
                listeners.append(await _listen(port, pod_ip))
        except OSError as err:
            for listener in listeners:
                await listener.close()
            raise NetworkError(f"hostPort {port}: cannot listen on {port.host_ip}:"
                               f"{port.host_port}: {_why(err)}",
                               reason="HostPortUnavailable") from err
        self._pods[uid] = listeners

    async def close(self, uid: str) -> None:
        for listener in self._pods.pop(uid, ()):
            await listener.close()

    async def close_all(self) -> None:
        for uid in list(self._pods):
            await self.close(uid)


def _why(err: OSError) -> str:
    """``Address already in use``: asyncio words its bind errors in a sentence of its own."""
    return os.strerror(err.errno) if err.errno else str(err)


class _Listener:
    """One listening TCP server or UDP socket and the connections it relays."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.datagrams: _UdpFrontend | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        if self.datagrams is not None:
            await self.datagrams.close()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def _listen(port: HostPort, pod_ip: str) -> _Listener:
    listener = _Listener()
    loop = asyncio.get_running_loop()
    if port.protocol == "UDP":
        _, protocol = await loop.create_datagram_endpoint(
            lambda: _UdpFrontend((pod_ip, port.container_port)),
            local_addr=(port.host_ip, port.host_port))
        listener.datagrams = protocol
        return listener

    def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = loop.create_task(_relay(reader, writer, pod_ip, port.container_port))
        listener.tasks.add(task)
        task.add_done_callback(listener.tasks.discard)

    listener.server = await asyncio.start_server(accepted, port.host_ip, port.host_port)
    return listener


async def _relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 pod_ip: str, container_port: int) -> None:
    """One TCP connection: to the pod, then bytes both ways until both sides are done."""
    try:
        upstream_reader, upstream_writer = await asyncio.open_connection(pod_ip, container_port)
    except OSError:
        writer.transport.abort()  # a reset, as a closed port would give
        return
    try:
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
    finally:
        for side in (writer, upstream_writer):
            side.close()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    """Copy until end of file, then pass the half-close on."""
    try:
        while data := await source.read(_CHUNK):
            sink.write(data)
            await sink.drain()  # back-pressure: stop reading while the sink is full
        if sink.can_write_eof():
            sink.write_eof()
    except OSError:
        sink.transport.abort()


class _UdpFrontend(asyncio.DatagramProtocol):
    """The node-side UDP socket: a session per client address, relayed to the pod."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.transport: asyncio.DatagramTransport | None = None
        self._sessions: dict[Any, _UdpSession] = {}
        self._closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._closed.done():
            self._closed.set_result(None)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        session = self._sessions.get(addr)
        if session is None:
            session = self._sessions[addr] = _UdpSession(self, addr)
        session.send(data)

    def reply(self, data: bytes, addr: Any) -> None:
        if self.transport is not None:
            self.transport.sendto(data, addr)

    def forget(self, addr: Any) -> None:
        self._sessions.pop(addr, None)

    async def close(self) -> None:
        """Close the sessions and the socket; returns once the port is free again."""
        for session in list(self._sessions.values()):
            session.close()
        if self.transport is not None:
            self.transport.close()
            self.transport = None
            await self._closed


class _UdpSession(asyncio.DatagramProtocol):
    """One client's upstream socket, connected to the pod's port."""

    def __init__(self, frontend: _UdpFrontend, client: Any) -> None:
        self._frontend = frontend
        self._client = client
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.DatagramTransport | None = None
        self._waiting: list[bytes] = []
        self._last = self._loop.time()
        self._timer = self._loop.call_later(UDP_IDLE_SECONDS, self._idle_check)
        self._opening = self._loop.create_task(self._open())

    async def _open(self) -> None:
        try:
            await self._loop.create_datagram_endpoint(lambda: self,
                                                      remote_addr=self._frontend.target)
        except OSError:
            self.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)
        for data in self._waiting:
            self._transport.sendto(data)
        self._waiting.clear()

    def send(self, data: bytes) -> None:
        self._last = self._loop.time()
        if self._transport is None:
            self._waiting.append(data)
        else:
            self._transport.sendto(data)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self._last = self._loop.time()
        self._frontend.reply(data, self._client)

    def error_received(self, exc: Exception) -> None:
        """A refused datagram (nothing listens in the pod yet): UDP drops it."""

    def _idle_check(self) -> None:
        remaining = self._last + UDP_IDLE_SECONDS - self._loop.time()
        if remaining > 0:
            self._timer = self._loop.call_later(remaining, self._idle_check)
        else:
            self.close()

    def close(self) -> None:
        self._timer.cancel()
        self._frontend.forget(self._client)
        if not self._opening.done():
            self._opening.cancel()
        if self._transport is not None:
            with contextlib.suppress(Exception):
                self._transport.close()
            self._transport = None
