"""``pods/log``, ``pods/exec``, ``pods/attach``, ``pods/portforward``: proxied to the pod's node.

The API server checks what it can itself, as kube-apiserver's pod ``LogLocation`` and
``ExecLocation`` do — the pod exists (404), has a node (400), the container is one of the
pod's (``container X is not valid for pod Y``, 400; one must be named when there are
several), exec and attach target a pod that has not completed, the log options are valid
(422) — then finds the node agent: the Node's ``InternalIP`` (else its ``Hostname``) and
``status.daemonEndpoints.kubeletEndpoint.Port`` (10250 when unset).

Logs are fetched from ``/containerLogs/…`` and streamed to the client as they arrive
(chunked ``text/plain``, for ``-f`` until the container ends). exec, attach and
port-forward are relayed by :mod:`.upgradetunnel`, whatever upgrade the client asked for.
The hop to the node is TLS with the API server's kubelet-client certificate, the node's
certificate verified against the cluster CA. A node that cannot be reached is a 503 that
says which node and why.
"""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
from aiohttp import hdrs, web

from steersman.api import errors
from steersman.api.podlogs import pod_log_options
from steersman.apiserver.generic import GenericRegistry
from steersman.apiserver.requestinfo import RequestInfo
from steersman.apiserver.upgradetunnel import Upstream, is_upgrade, status_error_from, tunnel

Object = dict[str, Any]
DEFAULT_KUBELET_PORT = 10250
_UPGRADED = ("exec", "attach", "portforward")
_CHUNK = 64 * 1024


class NodeProxy:
    """Serves the streaming pod subresources by relaying them to the pod's node agent."""

    def __init__(self, registry: GenericRegistry, kubelet_client: ssl.SSLContext, *,
                 connect_timeout: float = 10.0) -> None:
        self._registry = registry
        self._ssl = kubelet_client
        self._connect_timeout = connect_timeout

    async def serve(self, request: web.Request, pod: Object, ri: RequestInfo) -> web.StreamResponse:
        node_name = pod.get("spec", {}).get("nodeName")
        if not node_name:
            raise errors.bad_request(f"pod {ri.name} does not have a host assigned")
        if ri.subresource == "log":
            return await self._logs(request, pod, node_name)
        if ri.subresource in _UPGRADED:
            return await self._upgrade(request, pod, node_name, ri.subresource)
        raise errors.method_not_allowed(request.method, f"pods/{ri.subresource}")

    async def _logs(self, request: web.Request, pod: Object, node_name: str) -> web.StreamResponse:
        if request.method != "GET":
            raise errors.method_not_allowed(request.method, "pods/log")
        name = pod["metadata"]["name"]
        pod_log_options(request.query, name=name)
        container = container_for(pod, request.query.get("container", ""))
        query = [(k, v) for k, v in request.query.items() if k != "container"]
        path = f"/containerLogs/{_segments(pod, container)}" + _query(query)
        upstream = await self._upstream(node_name, path)
        return await self._stream_logs(request, upstream, node_name)

    async def _stream_logs(self, request: web.Request, upstream: Upstream,
                           node_name: str) -> web.StreamResponse:
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=upstream.connect_timeout)
        connector = aiohttp.TCPConnector(ssl=upstream.ssl)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            try:
                async with session.get(upstream.url) as answer:
                    if answer.status != 200:
                        raise status_error_from(answer.status, await answer.read())
                    return await _copy_logs(request, answer)
            except aiohttp.ClientConnectionError as exc:
                raise errors.service_unavailable(
                    f"{_unreachable(node_name, upstream)}: {exc}") from exc

    async def _upgrade(self, request: web.Request, pod: Object, node_name: str,
                       subresource: str) -> web.StreamResponse:
        if not is_upgrade(request):
            raise errors.bad_request("Upgrade request required")
        phase = pod.get("status", {}).get("phase", "")
        _check_not_completed(phase, subresource)
        if subresource != "portforward":
            container = container_for(pod, request.query.get("container", ""))
            query = [(k, v) for k, v in request.query.items() if k != "container"]
            path = f"/{subresource}/{_segments(pod, container)}" + _query(query)
        else:
            path = f"/portForward/{_segments(pod)}" + _query(list(request.query.items()))
        upstream = await self._upstream(node_name, path)
        return await tunnel(request, upstream, unreachable=_unreachable(node_name, upstream))

    async def _upstream(self, node_name: str, path: str) -> Upstream:
        nodes = self._registry.resources.get("", "v1", "nodes")
        assert nodes is not None
        try:
            node = await self._registry.get(nodes, "", node_name)
        except errors.StatusError as exc:
            if exc.code != 404:
                raise
            raise errors.service_unavailable(
                f'cannot reach the node agent of node "{node_name}": the node is not '
                "registered") from None
        host, port = kubelet_address(node)
        return Upstream(host=host, port=port, path_qs=path, ssl=self._ssl,
                        connect_timeout=self._connect_timeout)


def kubelet_address(node: Object) -> tuple[str, int]:
    """The node agent's address: InternalIP (else Hostname) and the kubelet endpoint port."""
    status = node.get("status") or {}
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
    host = addresses.get("InternalIP") or addresses.get("Hostname")
    if not host:
        raise errors.service_unavailable(
            f'cannot reach the node agent of node "{node["metadata"]["name"]}": the node '
            "publishes no InternalIP or Hostname address")
    endpoint = (status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}
    return str(host), int(endpoint.get("Port") or DEFAULT_KUBELET_PORT)


def container_for(pod: Object, requested: str) -> str:
    """The container a request targets, checked against the pod's containers."""
    spec = pod.get("spec") or {}
    names = [c["name"] for c in spec.get("containers") or []]
    init = [c["name"] for c in spec.get("initContainers") or []]
    ephemeral = [c["name"] for c in spec.get("ephemeralContainers") or []]
    name = pod["metadata"]["name"]
    if requested:
        if requested not in (*names, *init, *ephemeral):
            raise errors.bad_request(f"container {requested} is not valid for pod {name}")
        return requested
    if len(names) == 1:
        return str(names[0])
    message = (f"a container name must be specified for pod {name}, choose one of: "
               f"[{' '.join(names)}]")
    if init:
        message += f" or one of the init containers: [{' '.join(init)}]"
    raise errors.bad_request(message)


_VERBS = {"exec": "exec into", "attach": "attach to", "portforward": "forward ports to"}


def _check_not_completed(phase: str, subresource: str) -> None:
    if phase in ("Succeeded", "Failed"):
        raise errors.bad_request(f"cannot {_VERBS[subresource]} a container in a completed "
                                 f"pod; current phase is {phase}")


def _segments(pod: Object, container: str = "") -> str:
    meta = pod["metadata"]
    parts = [meta.get("namespace", ""), meta["name"], *([container] if container else [])]
    return "/".join(quote(part, safe="") for part in parts)


def _query(pairs: list[tuple[str, str]]) -> str:
    return "?" + urlencode(pairs) if pairs else ""


def _unreachable(node_name: str, upstream: Upstream) -> str:
    return (f'cannot reach the node agent of node "{node_name}" at '
            f"{upstream.url.split('/')[2]}")


async def _copy_logs(request: web.Request, answer: aiohttp.ClientResponse) -> web.StreamResponse:
    response = web.StreamResponse(headers={hdrs.CONTENT_TYPE: "text/plain"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    try:
        async for chunk in answer.content.iter_any():
            await response.write(chunk)
    except (aiohttp.ClientPayloadError, ConnectionError):
        if not request.transport or request.transport.is_closing():
            return response
        raise
    await response.write_eof()
    return response
