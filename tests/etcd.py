"""A real etcd for tests: one member on ephemeral 127.0.0.1 ports, killed by PID afterwards."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tools import need_tool

HEALTH_DEADLINE_S = 15.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def etcd_command(binary: str, data_dir: Path, client: int, peer: int) -> list[str]:
    client_url, peer_url = f"http://127.0.0.1:{client}", f"http://127.0.0.1:{peer}"
    return [
        binary,
        "--name=s1",
        f"--data-dir={data_dir}",
        f"--listen-client-urls={client_url}",
        f"--advertise-client-urls={client_url}",
        f"--listen-peer-urls={peer_url}",
        f"--initial-advertise-peer-urls={peer_url}",
        f"--initial-cluster=s1={peer_url}",
    ]


def wait_healthy(process: subprocess.Popen[bytes], client: int) -> bool:
    deadline = time.monotonic() + HEALTH_DEADLINE_S
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{client}/health", timeout=1) as reply:
                if b'"true"' in reply.read():
                    return True
        except OSError:
            time.sleep(0.05)
    return False



@contextlib.contextmanager
def running_etcd(directory: Path) -> Iterator[str]:
    """``127.0.0.1:PORT`` of a fresh single-member etcd; retried if a probed port was taken."""
    binary = need_tool("etcd", "the etcd store backend")
    for attempt in range(3):
        client, peer = free_port(), free_port()
        data_dir = directory / f"etcd-{attempt}"
        with (directory / f"etcd-{attempt}.log").open("wb") as log:
            process = subprocess.Popen(
                etcd_command(binary, data_dir, client, peer), stdout=log, stderr=log
            )
        try:
            if wait_healthy(process, client):
                yield f"127.0.0.1:{client}"
                return
        finally:
            process.kill()
            process.wait()
    pytest.fail(f"etcd did not become healthy; see {directory}/etcd-*.log")
