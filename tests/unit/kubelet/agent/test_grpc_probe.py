"""``grpc`` probes against a real gRPC health server on 127.0.0.1, through ``run_handler``.

The server is grpcio's own: ``grpc.aio.server`` with the standard ``HealthServicer``, one
servicer that stalls to pass the deadline, or none at all (Unimplemented). A port with
nothing listening and a TCP listener that never speaks HTTP/2 are the connect failures.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from steersman.client import FakeClock
from steersman.kubelet.agent.handlers import Outcome, Target, run_handler
from tests.unit.kubelet.agent.fake_runtime import FakeRuntime

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class StalledHealth(health_pb2_grpc.HealthServicer):
    """Answers no Check before the client's deadline has passed."""

    async def Check(self, request: Any, context: Any) -> Any:
        await asyncio.sleep(30)
        return health_pb2.HealthCheckResponse(status=SERVING)


@asynccontextmanager
async def health_server(servicer: Any | None, port: int = 0) -> AsyncIterator[int]:
    """A gRPC server on 127.0.0.1 serving ``servicer`` (None: no Health service); its port."""
    server = grpc.aio.server()
    if servicer is not None:
        health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    try:
        yield port
    finally:
        await server.stop(grace=None)


@contextmanager
def silent_listener() -> Iterator[int]:
    """A TCP port that accepts into its backlog and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def grpc_probe(port: int, service: str | None = None, timeout: float = 5) -> Outcome:
    action: dict[str, Any] = {"port": port}
    if service is not None:
        action["service"] = service
    target = Target(FakeRuntime(FakeClock()), "c1", "127.0.0.1")
    return await run_handler({"grpc": action}, target, timeout=timeout)


async def test_serving_is_success_for_the_server_and_a_named_service() -> None:
    servicer = health.aio.HealthServicer()
    await servicer.set("shop.Cart", SERVING)
    async with health_server(servicer) as port:
        assert await grpc_probe(port) == Outcome(True, "service healthy")
        assert await grpc_probe(port, "shop.Cart") == Outcome(True, "service healthy")


async def test_not_serving_is_failure_with_the_status_named() -> None:
    servicer = health.aio.HealthServicer()
    await servicer.set("", NOT_SERVING)
    async with health_server(servicer) as port:
        assert await grpc_probe(port) == Outcome(
            False, 'service unhealthy (responded with "NOT_SERVING")')


async def test_an_unknown_service_is_failure() -> None:
    async with health_server(health.aio.HealthServicer()) as port:
        outcome = await grpc_probe(port, "no.such.Service")
    assert not outcome.ok
    assert outcome.message.startswith("error: health rpc probe failed: rpc error: "
                                      "code = NotFound desc =")


async def test_a_server_without_the_health_service_is_failure() -> None:
    async with health_server(None) as port:
        outcome = await grpc_probe(port)
    assert not outcome.ok
    assert outcome.message.startswith("error: this server does not implement the grpc health"
                                      " protocol (grpc.health.v1.Health)")


@pytest.mark.parametrize("listening", [False, True], ids=["refused", "silent"])
async def test_a_connection_that_never_comes_up_is_a_timeout(listening: bool) -> None:
    with silent_listener() as silent:
        port = silent if listening else free_port()
        outcome = await grpc_probe(port, timeout=0.5)
    assert outcome == Outcome(
        False, f'timeout: failed to connect service "127.0.0.1:{port}" within 0.5s')


async def test_a_check_that_outlives_the_timeout_is_failure() -> None:
    async with health_server(StalledHealth()) as port:
        outcome = await grpc_probe(port, timeout=1.5)
    assert outcome == Outcome(False, "timeout: health rpc did not complete within 1.5s")


async def test_a_server_started_after_a_failed_check_passes_the_next() -> None:
    port = free_port()
    assert not (await grpc_probe(port, timeout=0.3)).ok
    async with health_server(health.aio.HealthServicer(), port):
        assert await grpc_probe(port) == Outcome(True, "service healthy")
