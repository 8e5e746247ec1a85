"""A node agent's streaming server with fake pods, for end-to-end tests of logs/exec/port-forward.

The real :class:`~steersman.kubelet.streaming.StreamingServer` runs in a thread with its own
event loop, serving HTTPS with a certificate issued by the test server's CA. Its pods are
fakes: "containers" whose exec runs host processes (with a pseudo-terminal for ``tty``),
whose logs are CRI files the test writes, and whose ports are ports on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import struct
import termios
import threading
from collections.abc import Sequence
from pathlib import Path

from steersman.apiserver.pki import Pki, issue_serving_certificate
from steersman.kubelet.streaming import (
    ContainerTarget,
    ExecFailed,
    ExecIO,
    PodTarget,
    StreamingServer,
    serving_ssl_context,
)
from steersman.kubelet.streaming.targets import Connection, Output


async def _connect(port: int) -> Connection:
    return await asyncio.open_connection("127.0.0.1", port)


class FakePods:
    """The resolver: pods by (namespace, name); running containers by id."""

    def __init__(self) -> None:
        self.pods: dict[tuple[str, str], PodTarget] = {}
        self.running: set[str] = set()

    def add(self, namespace: str, name: str, containers: Sequence[ContainerTarget]) -> None:
        self.pods[namespace, name] = PodTarget(
            namespace=namespace, name=name, uid=f"uid-{name}",
            containers={c.name: c for c in containers}, connect=_connect)
        self.running.update(c.container_id for c in containers if c.container_id)

    async def pod(self, namespace: str, name: str) -> PodTarget | None:
        return self.pods.get((namespace, name))

    async def container_running(self, container_id: str) -> bool:
        return container_id in self.running


class HostProcessRuntime:
    """exec runs the command as a host process; attach echoes stdin back to stdout."""

    async def exec(self, container_id: str, command: Sequence[str], io: ExecIO) -> int:
        if io.tty:
            return await _exec_tty(command, io)
        try:
            process = await asyncio.create_subprocess_exec(
                *command, stdin=asyncio.subprocess.PIPE if io.stdin else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        except OSError as exc:
            raise ExecFailed(f'exec: "{command[0]}": {exc.strerror}') from exc
        try:
            feeding = asyncio.create_task(_feed(io.stdin, process.stdin))
            assert process.stdout is not None and process.stderr is not None
            await asyncio.gather(_drain(process.stdout, io.stdout),
                                 _drain(process.stderr, io.stderr))
            code = await process.wait()
            feeding.cancel()
            return code
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()

    async def attach(self, container_id: str, io: ExecIO) -> None:
        assert io.stdin is not None and io.stdout is not None
        while line := await io.stdin.readline():
            await io.stdout(b"attached: " + line)


async def _feed(source: asyncio.StreamReader | None, sink: asyncio.StreamWriter | None) -> None:
    if source is None or sink is None:
        return
    with contextlib.suppress(ConnectionError):
        while chunk := await source.read(65536):
            sink.write(chunk)
            await sink.drain()
        sink.close()


async def _drain(source: asyncio.StreamReader, write: Output | None) -> None:
    while chunk := await source.read(65536):
        if write is not None:
            await write(chunk)


async def _exec_tty(command: Sequence[str], io: ExecIO) -> int:
    primary, secondary = pty.openpty()
    process = await asyncio.create_subprocess_exec(
        *command, stdin=secondary, stdout=secondary, stderr=secondary, start_new_session=True)
    os.close(secondary)
    loop = asyncio.get_running_loop()
    output: asyncio.Queue[bytes] = asyncio.Queue()
    loop.add_reader(primary, lambda: output.put_nowait(_read_pty(primary)))
    tasks = [asyncio.create_task(_tty_input(primary, io)),
             asyncio.create_task(_tty_resize(primary, io))]
    try:
        while chunk := await output.get():
            if io.stdout is not None:
                await io.stdout(chunk)
        return await process.wait()
    finally:
        loop.remove_reader(primary)
        for task in tasks:
            task.cancel()
        os.close(primary)
        if process.returncode is None:
            process.kill()


def _read_pty(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:
        return b""


async def _tty_input(fd: int, io: ExecIO) -> None:
    if io.stdin is not None:
        while chunk := await io.stdin.read(65536):
            os.write(fd, chunk)


async def _tty_resize(fd: int, io: ExecIO) -> None:
    while True:
        size = await io.resizes.get()
        if size.width and size.height:
            fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", size.height, size.width, 0, 0))


class FakeNode:
    """The streaming server of a fake node, on 127.0.0.1 in a thread of its own."""

    def __init__(self, directory: Path, pki: Pki) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        cert, key = issue_serving_certificate(pki, common_name="system:node:fake",
                                              hosts=["127.0.0.1"])
        (directory / "kubelet.crt").write_bytes(cert)
        (directory / "kubelet.key").write_bytes(key)
        self.directory = directory
        self.ssl = serving_ssl_context(cert_file=directory / "kubelet.crt",
                                       key_file=directory / "kubelet.key",
                                       client_ca_file=pki.ca_cert)
        self.pods = FakePods()
        self.server = StreamingServer(resolver=self.pods, runtime=HostProcessRuntime())
        self.port = 0
        self.name = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(
            self.server.start(host="127.0.0.1", port=0, ssl_context=self.ssl), self._loop)
        self.port = future.result(10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
