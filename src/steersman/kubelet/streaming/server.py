"""The node's HTTPS streaming server (port 10250): logs, exec, attach, port-forward, health.

Paths, as the kubelet serves them and the API server proxies to them:

* ``GET /containerLogs/{namespace}/{pod}/{container}`` with ``PodLogOptions`` in the query;
* ``/exec/{namespace}/{pod}/{container}?command=…&stdin&stdout&stderr&tty`` and
  ``/attach/{namespace}/{pod}/{container}``, upgraded to a channel-protocol WebSocket;
* ``/portForward/{namespace}/{pod}``: SPDY/3.1 (a plain ``Upgrade: SPDY/3.1``, or tunnelled in
  a WebSocket as ``SPDY/3.1+portforward.k8s.io``) or the WebSocket channel protocol;
* ``GET /metrics/resource``: usage in the kubelet's Prometheus format, when the agent
  gives a handler (:mod:`steersman.kubelet.stats`);
* ``GET /healthz``.

Every path but ``/healthz`` needs a client certificate signed by the CA the server is given
(checked by TLS) whose organisations include an authorised group — by default
``system:masters``, which the API server's kubelet-client certificate carries and node
certificates do not. Failures are ``Status`` JSON bodies.

The agent wires it with a :class:`~.targets.PodResolver` and a
:class:`~.targets.StreamingRuntime`; the server holds no pod state of its own.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

import orjson
from aiohttp import hdrs, web

from steersman.api import errors
from steersman.api.podlogs import pod_log_options
from steersman.kubelet.streaming import portforward
from steersman.kubelet.streaming.logs import stream_logs
from steersman.kubelet.streaming.remotecommand import (
    RemoteCommandOptions,
    Run,
    remote_command_options,
    serve_remote_command,
)
from steersman.kubelet.streaming.targets import (
    ContainerTarget,
    ExecIO,
    PodResolver,
    PodTarget,
    StreamingRuntime,
)

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
DEFAULT_AUTHORIZED_GROUPS = frozenset({"system:masters"})
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"


def serving_ssl_context(*, cert_file: Path, key_file: Path, client_ca_file: Path) -> ssl.SSLContext:
    """TLS 1.2+ with this node's serving certificate; client certificates checked by the CA."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(TLS12_CIPHERS)
    context.load_cert_chain(certfile=cert_file, keyfile=key_file)
    context.load_verify_locations(cafile=client_ca_file)
    context.verify_mode = ssl.CERT_OPTIONAL
    return context


class StreamingServer:
    """The aiohttp application behind the node's port 10250."""

    def __init__(self, *, resolver: PodResolver, runtime: StreamingRuntime,
                 authorized_groups: Iterable[str] = DEFAULT_AUTHORIZED_GROUPS,
                 clock: Callable[[], int] = time.time_ns,
                 resource_metrics: Handler | None = None) -> None:
        self._resolver = resolver
        self._runtime = runtime
        self._resource_metrics = resource_metrics  # GET /metrics/resource (kubelet.stats)
        self._groups = frozenset(authorized_groups)
        self._clock = clock
        self._runner: web.AppRunner | None = None

    def application(self) -> web.Application:
        app = web.Application(middlewares=[self._errors, self._authorize])
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/containerLogs/{namespace}/{pod}/{container}", self._logs)
        for verb in ("GET", "POST"):
            app.router.add_route(verb, "/exec/{namespace}/{pod}/{container}", self._exec)
            app.router.add_route(verb, "/attach/{namespace}/{pod}/{container}", self._attach)
            app.router.add_route(verb, "/portForward/{namespace}/{pod}", self._port_forward)
        if self._resource_metrics is not None:
            app.router.add_get("/metrics/resource", self._resource_metrics)
        return app

    async def start(self, *, host: str, port: int, ssl_context: ssl.SSLContext | None) -> int:
        """Serve on ``host:port`` (0: any free port); the bound port."""
        self._runner = web.AppRunner(self.application(), access_log=None, handle_signals=False,
                                     shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, ssl_context=ssl_context)
        try:
            await site.start()
        except OSError:
            await self.stop()
            raise
        return int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except errors.StatusError as exc:
            return _status_response(exc)

    @web.middleware
    async def _authorize(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == "/healthz":
            return await handler(request)
        peercert = request.transport.get_extra_info("peercert") if request.transport else None
        if not peercert:
            raise errors.unauthorized()
        subject = [value for rdn in peercert.get("subject", ()) for key, value in rdn
                   if key == "organizationName"]
        if not self._groups.intersection(subject):
            names = [value for rdn in peercert.get("subject", ()) for key, value in rdn
                     if key == "commonName"]
            raise errors.StatusError(403, "Forbidden", f"Forbidden (user={names[:1]}, "
                                     f"verb={request.method.lower()}, resource=nodes, "
                                     f"subresource=proxy)")
        return await handler(request)

    async def _healthz(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text="ok", content_type="text/plain")

    async def _logs(self, request: web.Request) -> web.StreamResponse:
        pod, container = await self._container(request)
        options = pod_log_options(request.query, name=pod.name)
        path = container.previous_log_path if options.previous else container.log_path
        if path is None:
            raise errors.bad_request(_no_log_message(pod, container, previous=options.previous))
        response = web.StreamResponse(headers={hdrs.CONTENT_TYPE: "text/plain"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        container_id = container.container_id

        async def running() -> bool:
            return not options.previous and await self._resolver.container_running(container_id)

        try:
            await stream_logs(path, options, response.write, running=running, clock=self._clock)
        except ConnectionError:
            return response
        await response.write_eof()
        return response

    async def _exec(self, request: web.Request) -> web.StreamResponse:
        options = remote_command_options(request.query, exec_command=True)
        _, container = await self._running_container(request)

        async def run(io: ExecIO) -> int | None:
            return await self._runtime.exec(container.container_id, options.command, io)

        return await self._remote_command(request, options, run)

    async def _attach(self, request: web.Request) -> web.StreamResponse:
        options = remote_command_options(request.query, exec_command=False)
        _, container = await self._running_container(request)

        async def run(io: ExecIO) -> int | None:
            await self._runtime.attach(container.container_id, io)
            return None

        return await self._remote_command(request, options, run)

    async def _remote_command(self, request: web.Request, options: RemoteCommandOptions,
                              run: Run,
                              ) -> web.StreamResponse:
        if not _upgrade_to(request, "websocket"):
            raise errors.bad_request("Upgrade request required: exec and attach are served "
                                     "over WebSocket (v5.channel.k8s.io, v4.channel.k8s.io)")
        return await serve_remote_command(request, options, run)

    async def _port_forward(self, request: web.Request) -> web.StreamResponse:
        pod = await self._pod(request)
        if _upgrade_to(request, "websocket"):
            return await portforward.serve_websocket(request, pod)
        if _upgrade_to(request, "spdy/3.1"):
            return await portforward.serve_spdy_upgrade(request, pod)
        raise errors.bad_request("Upgrade request required: port-forward is served over "
                                 "SPDY/3.1 or WebSocket")

    async def _pod(self, request: web.Request) -> PodTarget:
        namespace, name = request.match_info["namespace"], request.match_info["pod"]
        pod = await self._resolver.pod(namespace, name)
        if pod is None:
            raise errors.not_found("pods", name)
        return pod

    async def _container(self, request: web.Request) -> tuple[PodTarget, ContainerTarget]:
        pod = await self._pod(request)
        name = request.match_info["container"]
        container = pod.containers.get(name)
        if container is None:
            raise errors.bad_request(f"container {name} is not valid for pod {pod.name}")
        return pod, container

    async def _running_container(self, request: web.Request
                                 ) -> tuple[PodTarget, ContainerTarget]:
        pod, container = await self._container(request)
        if not container.container_id or not await self._resolver.container_running(
                container.container_id):
            raise errors.bad_request(f"container {container.name} is not running in pod "
                                     f"{pod.namespace}/{pod.name}")
        return pod, container


def _upgrade_to(request: web.Request, protocol: str) -> bool:
    connection = request.headers.get(hdrs.CONNECTION, "").lower()
    upgrade = request.headers.get(hdrs.UPGRADE, "").lower()
    return "upgrade" in connection and upgrade == protocol


def _no_log_message(pod: PodTarget, container: ContainerTarget, *, previous: bool) -> str:
    if previous:
        return (f'previous terminated container "{container.name}" in pod "{pod.name}" '
                "not found")
    return f'container "{container.name}" in pod "{pod.name}" is waiting to start'


def _status_response(exc: errors.StatusError) -> web.Response:
    return web.Response(status=exc.code, body=orjson.dumps(exc.to_status()),
                        content_type="application/json")
