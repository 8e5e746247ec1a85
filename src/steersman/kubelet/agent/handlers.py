"""Run a probe or lifecycle-hook handler: exec, httpGet, tcpSocket, grpc (a hook's sleep).

One function per kind, each answering an :class:`Outcome` (success and a message a user
reads) rather than raising: a probe that times out or a port that refuses is an expected
result. ``httpGet`` succeeds on 200 to 399 (``prober/http``); it and ``tcpSocket`` default
their host to the pod IP; a named port is looked up in the container's ports. ``grpc``
checks the pod IP's ``port`` with the gRPC Health Checking Protocol
(:mod:`steersman.kubelet.agent.grpc_health`). HTTPS probes skip certificate verification,
as the kubelet's do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from steersman.kubelet.agent.cri import Runtime
from steersman.kubelet.agent.grpc_health import check_health

Object = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    message: str = ""


@dataclass(frozen=True)
class Target:
    """Where a handler runs: the container instance, the pod IP, the container's ports."""

    runtime: Runtime
    container_id: str
    pod_ip: str
    ports: Sequence[Object] = ()


async def run_handler(handler: Object, target: Target, *, timeout: float) -> Outcome:
    """Run ``handler`` (a probe or a hook) against ``target`` within ``timeout`` seconds."""
    try:
        if "exec" in handler:
            return await _exec(handler["exec"], target, timeout)
        if "httpGet" in handler:
            return await asyncio.wait_for(_http(handler["httpGet"], target), timeout)
        if "tcpSocket" in handler:
            return await asyncio.wait_for(_tcp(handler["tcpSocket"], target), timeout)
        if "grpc" in handler:
            return await _grpc(handler["grpc"], target, timeout)
        if "sleep" in handler:
            await asyncio.sleep(float(handler["sleep"].get("seconds") or 0))
            return Outcome(True)
    except TimeoutError:
        return Outcome(False, f"timed out after {timeout:g}s")
    except (OSError, aiohttp.ClientError, ValueError) as err:
        return Outcome(False, str(err) or type(err).__name__)
    return Outcome(False, f"unsupported handler {sorted(handler)}")


def resolve_port(port: object, ports: Sequence[Object]) -> int:
    """A port number, or a named container port's number."""
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        return int(port)
    for candidate in ports:
        if candidate.get("name") == port:
            return int(candidate["containerPort"])
    raise ValueError(f"port {port!r} is not a named port of the container")


async def _exec(action: Object, target: Target, timeout: float) -> Outcome:
    command = [str(word) for word in action.get("command") or []]
    result = await target.runtime.exec_sync(target.container_id, command, timeout)
    output = (result.stdout + result.stderr).decode(errors="replace").strip()
    if result.exit_code == 0:
        return Outcome(True, output)
    return Outcome(False, f"command {command!r} exited with {result.exit_code}: {output}")


async def _http(action: Object, target: Target) -> Outcome:
    scheme = str(action.get("scheme") or "HTTP").lower()
    host = str(action.get("host") or target.pod_ip)
    port = resolve_port(action.get("port"), target.ports)
    path = str(action.get("path") or "/")
    url = f"{scheme}://{host}:{port}{path if path.startswith('/') else '/' + path}"
    headers = {h["name"]: h["value"] for h in action.get("httpHeaders") or []}
    async with aiohttp.ClientSession() as session, \
            session.get(url, headers=headers, ssl=False, allow_redirects=False) as response:
        if 200 <= response.status < 400:
            return Outcome(True)
        body = (await response.content.read(1024)).decode(errors="replace")
        return Outcome(False, f"HTTP probe failed with statuscode: {response.status} {body}")


async def _tcp(action: Object, target: Target) -> Outcome:
    host = str(action.get("host") or target.pod_ip)
    port = resolve_port(action.get("port"), target.ports)
    _, writer = await asyncio.open_connection(host, port)
    writer.close()
    await writer.wait_closed()
    return Outcome(True)


async def _grpc(action: Object, target: Target, timeout: float) -> Outcome:
    # The deadline is the check's own: it says which step ran out of time, as upstream does.
    result = await check_health(host=target.pod_ip, port=int(action["port"]),
                                service=str(action.get("service") or ""), timeout=timeout)
    return Outcome(result.healthy, result.message)
