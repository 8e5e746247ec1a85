"""One gRPC health check, as the kubelet's ``grpc`` probe makes it (``pkg/probe/grpc``).

The standard Health Checking Protocol: dial ``host:port`` in plaintext (no TLS, no proxy,
as the kubelet's probe dialer), wait until the connection is up, then call
``grpc.health.v1.Health/Check`` with the probe's ``service`` name, all within one
``timeout``. ``SERVING`` is healthy; any other status, an RPC error, a port that refuses
or a deadline passed is unhealthy, with the kubelet's wording in the message. Expected
failures are values, never exceptions.

Each check dials a fresh channel with its own subchannel pool, so a server that has just
come up is reached at once, not after the reconnect back-off an earlier failed check
left in a shared subchannel. :mod:`steersman.kubelet.agent.handlers` calls it for a probe
whose handler is ``grpc``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

_CHANNEL_OPTIONS = (
    ("grpc.enable_http_proxy", 0),
    ("grpc.use_local_subchannel_pool", 1),
    ("grpc.enable_retries", 0),
    ("grpc.primary_user_agent", "kube-probe/steersman"),
)


@dataclass(frozen=True, slots=True)
class HealthResult:
    healthy: bool
    message: str


async def check_health(*, host: str, port: int, service: str, timeout: float) -> HealthResult:
    """``Health/Check(service)`` at ``host:port``, connection and call within ``timeout`` s."""
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with grpc.aio.insecure_channel(address, options=_CHANNEL_OPTIONS) as channel:
        try:
            await asyncio.wait_for(channel.channel_ready(), timeout)
        except TimeoutError:
            return HealthResult(False, f'timeout: failed to connect service "{address}" '
                                       f"within {timeout:g}s")
        stub = health_pb2_grpc.HealthStub(channel)
        request = health_pb2.HealthCheckRequest(service=service)
        try:
            response = await stub.Check(request, timeout=max(deadline - loop.time(), 0.001))
        except grpc.aio.AioRpcError as err:
            return _rpc_failure(err, timeout)
    return _verdict(int(response.status))


def _verdict(status: int) -> HealthResult:
    if status == health_pb2.HealthCheckResponse.SERVING:
        return HealthResult(True, "service healthy")
    name = str(health_pb2.HealthCheckResponse.ServingStatus.Name(status))
    return HealthResult(False, f'service unhealthy (responded with "{name}")')


def _rpc_failure(err: grpc.aio.AioRpcError, timeout: float) -> HealthResult:
    code, details = err.code(), err.details()
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return HealthResult(False, "error: this server does not implement the grpc health "
                                   f"protocol (grpc.health.v1.Health): {details}")
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return HealthResult(False, f"timeout: health rpc did not complete within {timeout:g}s")
    go_name = "".join(word.capitalize() for word in code.name.split("_"))  # NOT_FOUND: NotFound
    return HealthResult(False, f"error: health rpc probe failed: rpc error: "
                               f"code = {go_name} desc = {details}")
