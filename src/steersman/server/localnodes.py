"""Node agents inside ``steersman up``: the local machine as one or more cluster nodes.

Each agent runs in the server's process and event loop with its own client, runtime state
and data dir (``<data dir>/nodes/<node>``), exactly as ``steersman agent`` would from
another process. Stopping them stops the pods' containers too (preStop, SIGTERM, SIGKILL
after the pod's grace period, at most :data:`STOP_GRACE_CAP` seconds), as a node shutdown
would; the records stay, so the next ``up`` adopts the pods and restarts their containers.

Each agent serves logs, exec and port-forward on its own node address (``127.42.x.1``), so
the agents of one cluster never compete for a port, on port 10250 when it is free there and
on any free port otherwise (another cluster on this machine may have a node with the same
address); the bound port is what the Node publishes. Its serving certificate is issued on
every start by the cluster CA (``<node dir>/pki``) for that address, and it accepts the
clients that CA signed: the API server's kubelet-client certificate.

With ``network_mode="bridge"`` (root) each node gets its own pod bridge and /24 of
10.42.0.0/16 — ``10.42.<n>.0/24`` for consecutive ``n`` from a hash of the cluster name, so
the nodes of one cluster never share one — and the node's address is its bridge's ``.1``.
Pods with their own namespace then get a resolv.conf naming ``cluster_dns`` (the kube-dns
ClusterIP in 10.43.0.0/16), which the nodes' nftables proxies DNAT to the cluster DNS.

Each node also runs its service proxy (``proxy_mode``, userspace by default). The nodes share
this machine's network namespace, so their userspace proxies share one listener pool: a
ClusterIP, load-balancer address or ``127.0.0.1:nodePort`` is bound once and its
connections are spread over the nodes' proxies; each node's ``nodeIP:nodePort`` is its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import zlib
from pathlib import Path

from steersman.apiserver.pki import (
    CERT_MODE,
    KEY_MODE,
    Pki,
    issue_serving_certificate,
)
from steersman.client import Client, ServerUnreachable, SystemClock, load_kubeconfig
from steersman.client.files import write_file_atomically
from steersman.kubelet.agent import AgentConfig, NodeAgent
from steersman.kubelet.agent.runtime_adapter import RuntimeAdapter
from steersman.kubelet.runtime.registry import new_runtime
from steersman.proxy import ListenerPool, ServiceProxy, new_backend

log = logging.getLogger(__name__)
STOP_GRACE_CAP = 10.0


class LocalNodes:
    def __init__(self, kubeconfig: Path, data_dir: Path, *, cluster: str, count: int,
                 runtime: str, proxy_mode: str = "userspace",
                 network_mode: str = "host", cluster_dns: str = "") -> None:
        self._kubeconfig = kubeconfig
        self._data_dir = data_dir
        self._names = [f"{cluster}-node-{index}" for index in range(count)]
        self._runtime = runtime
        self._proxy_mode = proxy_mode
        self._network_mode = network_mode
        self._cluster_dns = cluster_dns
        self._cluster = cluster
        self._listeners = ListenerPool()
        self._clients: list[Client] = []
        self._agents: list[NodeAgent] = []
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def names(self) -> list[str]:
        return list(self._names)

    async def start(self) -> None:
        """Register every node, then run their pod workers in the background."""
        for name in self._names:
            agent = await self._agent(name)
            await agent.start()
            self._agents.append(agent)
            self._tasks.append(asyncio.create_task(agent.run(), name=f"agent-{name}"))
            self._start_proxy(name, agent.ctx.config.node_ip)

    async def _agent(self, name: str) -> NodeAgent:
        directory = self._data_dir / "nodes" / name
        config = self._serving(AgentConfig(node_name=name, data_dir=directory,
                                           network_mode=self._network_mode,
                                           cluster_dns=self._cluster_dns,
                                           pod_cidr=self._pod_cidr(name)))
        runtime = await RuntimeAdapter.open(
            new_runtime(self._runtime, state_dir=directory / "runtime"))
        clock = SystemClock()
        client = Client(load_kubeconfig(self._kubeconfig), clock=clock,
                        user_agent=f"steersman-agent/{name}")
        self._clients.append(client)
        return NodeAgent(client, runtime, config, clock=clock, service=runtime.service)

    def _pod_cidr(self, name: str) -> str:
        """In bridge mode, consecutive /24s per cluster; else the agent's default."""
        if self._network_mode != "bridge":
            return ""
        base = zlib.crc32(self._cluster.encode())
        return f"10.42.{(base + self._names.index(name)) % 256}.0/24"

    def _serving(self, config: AgentConfig) -> AgentConfig:
        """``config`` with a fresh serving certificate for its node address, from the CA."""
        pki = Pki.at(self._data_dir / "pki")
        cert, key = issue_serving_certificate(
            pki, common_name=f"system:node:{config.node_name}",
            hosts=[config.node_ip, config.node_name])
        directory = config.data_dir / "pki"
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        cert_file, key_file = directory / "kubelet.crt", directory / "kubelet.key"
        write_file_atomically(key_file, key, mode=KEY_MODE)
        write_file_atomically(cert_file, cert, mode=CERT_MODE)
        return dataclasses.replace(config, any_port_if_taken=True, serving_cert_file=cert_file,
                                   serving_key_file=key_file, client_ca_file=pki.ca_cert)

    def _start_proxy(self, name: str, node_ip: str) -> None:
        if self._proxy_mode == "none":
            return
        client = Client(load_kubeconfig(self._kubeconfig), user_agent=f"steersman-proxy/{name}")
        self._clients.append(client)
        backend = new_backend(self._proxy_mode, node_name=name, pool=self._listeners)
        proxy = ServiceProxy(client, node_name=name, node_ip=node_ip, backend=backend)
        self._tasks.append(asyncio.create_task(proxy.run(), name=f"proxy-{name}"))

    async def stop(self) -> None:
        stopped = await asyncio.gather(*(agent.stop_pods(max_grace=STOP_GRACE_CAP)
                                         for agent in self._agents))
        if any(stopped):
            log.info("stopped %d containers", sum(stopped))
        self._agents.clear()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, ServerUnreachable):
                await task
        self._tasks.clear()
        for client in self._clients:
            await client.close()
        self._clients.clear()
