"""The node's streaming server (logs, exec, attach, port-forward) on the real agent.

:class:`NodeServing` runs :class:`~steersman.kubelet.streaming.StreamingServer` on the node's
address (``AgentConfig.node_ip``) and ``AgentConfig.port`` with the serving certificate and
client CA of the config: only clients whose certificate that CA signed, in an authorised
group (the API server's kubelet-client certificate), get past ``/healthz``. With
``any_port_if_taken`` a port already in use gives way to any free one; the bound port is
what the Node publishes as ``status.daemonEndpoints.kubeletEndpoint.Port``. Without a
serving certificate nothing is served (and port 0 is published), and the log says so.

:class:`AgentPods` is its :class:`~steersman.kubelet.streaming.PodResolver`: a pod of the
agent's informer, its containers as the kubelet picks them for logs — the instance the pod
status names (``containerID``; for a waiting container the last terminated one) and, for
``--previous``, ``lastState.terminated`` — with their CRI log files from the runtime, and a
dialer to the pod's IP. The status is the one the agent last wrote (what a client can have
seen), else the informer's.
"""

from __future__ import annotations

import asyncio
import errno
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from steersman.client import Indexer
from steersman.kubelet.addresses import PodAddressPool
from steersman.kubelet.agent.config import AgentConfig
from steersman.kubelet.agent.cri import POD_UID_LABEL
from steersman.kubelet.agent.runtime_streams import RuntimeStreams
from steersman.kubelet.runtime import interface as rt
from steersman.kubelet.streaming import (
    ContainerTarget,
    PodTarget,
    StreamingServer,
    serving_ssl_context,
)
from steersman.kubelet.streaming.server import Handler
from steersman.kubelet.streaming.targets import Connection

log = logging.getLogger(__name__)
Object = dict[str, Any]
Statuses = Callable[[str], Object | None]


class AgentPods:
    """The pods of this node as the streaming server needs them (see the module docstring)."""

    def __init__(self, pods: Indexer, service: rt.RuntimeService, *,
                 addresses: PodAddressPool, statuses: Statuses) -> None:
        self._pods = pods
        self._service = service
        self._addresses = addresses
        self._statuses = statuses

    async def pod(self, namespace: str, name: str) -> PodTarget | None:
        pod = self._pods.get(f"{namespace}/{name}")
        if pod is None:
            return None
        uid = str(pod["metadata"]["uid"])
        status = self._statuses(uid) or pod.get("status") or {}
        instances = await self._service.list_containers(
            rt.ContainerFilter(labels={POD_UID_LABEL: uid}))
        by_name = {s.get("name"): s for key in ("initContainerStatuses", "containerStatuses")
                   for s in status.get(key) or ()}
        containers = {n: _container(n, by_name.get(n), instances) for n in _names(pod)}
        address = self._addresses.address_of(uid) or str(status.get("podIP") or "")
        return PodTarget(namespace=namespace, name=name, uid=uid, containers=containers,
                         connect=lambda port: _connect(address, port))

    async def container_running(self, container_id: str) -> bool:
        try:
            status = await self._service.container_status(container_id)
        except rt.NotFound:
            return False
        return status.state is rt.ContainerState.RUNNING


def _names(pod: Object) -> list[str]:
    spec = pod.get("spec") or {}
    return [str(c["name"]) for key in ("initContainers", "containers", "ephemeralContainers")
            for c in spec.get(key) or ()]


def _container(name: str, status: Object | None,
               instances: list[rt.ContainerStatus]) -> ContainerTarget:
    """The kubelet's choice of instance for ``logs`` and ``logs --previous``."""
    if status is None:  # in no status yet: waiting to start
        return ContainerTarget(name=name, container_id="")
    mine = [i for i in instances if i.name == name]
    last = ((status.get("lastState") or {}).get("terminated") or {}).get("containerID")
    state = status.get("state") or {}
    current = status.get("containerID") if "waiting" not in state else last
    by_id = {i.id: i for i in mine}
    return _target(name, by_id.get(_runtime_id(current)), by_id.get(_runtime_id(last)))


def _target(name: str, current: rt.ContainerStatus | None,
            previous: rt.ContainerStatus | None) -> ContainerTarget:
    return ContainerTarget(name=name, container_id=current.id if current else "",
                           log_path=_log_path(current), previous_log_path=_log_path(previous))


def _runtime_id(container_id: object) -> str:
    """``process://abc`` → ``abc``."""
    return str(container_id or "").partition("://")[2]


def _log_path(instance: rt.ContainerStatus | None) -> Path | None:
    return Path(instance.log_path) if instance is not None and instance.log_path else None


async def _connect(address: str, port: int) -> Connection:
    if not address:
        raise OSError(errno.EADDRNOTAVAIL, "the pod has no IP address yet")
    return await asyncio.open_connection(address, port)


class NodeServing:
    """The streaming server's lifecycle on one agent."""

    def __init__(self, config: AgentConfig, pods: AgentPods, service: rt.RuntimeService,
                 *, resource_metrics: Handler | None = None) -> None:
        self._config = config
        self._server = StreamingServer(resolver=pods, runtime=RuntimeStreams(service),
                                       resource_metrics=resource_metrics)
        self.port = 0

    async def start(self) -> int:
        """Bind and serve; the bound port (0: not served, no serving certificate)."""
        config = self._config
        if config.serving_cert_file is None or config.serving_key_file is None \
                or config.client_ca_file is None:
            log.warning("node %s has no serving certificate: logs, exec, attach and "
                        "port-forward are not served", config.node_name)
            return 0
        context = serving_ssl_context(cert_file=config.serving_cert_file,
                                      key_file=config.serving_key_file,
                                      client_ca_file=config.client_ca_file)
        try:
            self.port = await self._server.start(host=config.node_ip, port=config.port,
                                                 ssl_context=context)
        except OSError as err:
            if err.errno != errno.EADDRINUSE or not config.any_port_if_taken:
                raise
            log.info("port %d of %s is taken; serving on any free port", config.port,
                     config.node_ip)
            self.port = await self._server.start(host=config.node_ip, port=0,
                                                 ssl_context=context)
        log.info("node %s serves logs, exec and port-forward on %s:%d", config.node_name,
                 config.node_ip, self.port)
        return self.port

    async def stop(self) -> None:
        await self._server.stop()
