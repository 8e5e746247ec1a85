"""Components that run beside the API server and reach it only through the client.

The controller manager and the scheduler run in the server's process and talk to the API
through the client, each with its own, exactly as they would from another machine; with a
local endpoint (:mod:`steersman.apiserver.local`) the client hands its requests to the
API server by function call instead of loopback HTTPS, as the admin, and its watches read
the watch cache's objects without encoding them. Each runs as one asyncio task, stopped in
reverse order, and each is leader-elected on its own Lease (``kube-controller-manager``,
``kube-scheduler``) unless leader election is off.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

from steersman.client import Client, load_kubeconfig
from steersman.client.local import LocalServer
from steersman.controllers.certificates import ClusterSigning
from steersman.controllers.manager import ControllerManager, controller_manager_election
from steersman.controllers.registry import build_controllers
from steersman.controllers.servicelb import DEFAULT_LB_POOL
from steersman.dns import ClusterDNS, DNSConfig, DNSListenError
from steersman.ingress import IngressConfig, IngressController
from steersman.kubelet.network import NetworkError, links
from steersman.scheduler.service import SchedulerService, scheduler_election

log = logging.getLogger(__name__)


class Components:
    def __init__(self, kubeconfig: Path, *, controllers: Sequence[str],
                 leader_elect: bool, scheduler: bool = True,
                 cluster_signing: ClusterSigning | None = None,
                 lb_pool: str = DEFAULT_LB_POOL,
                 ingress: IngressConfig | None = None,
                 dns: DNSConfig | None = None,
                 local_path_root: Path | None = None,
                 local: LocalServer | None = None) -> None:
        self._kubeconfig = kubeconfig
        self._local = local
        self._controllers = tuple(controllers)
        self._leader_elect = leader_elect
        self._scheduler = scheduler
        self._ingress = ingress
        self._dns = dns
        self.dns: ClusterDNS | None = None
        self.dns_error = ""
        self._dns_address = ""  # what _add_dns_address put on lo, to take away on stop
        self.ingress: IngressController | None = None
        self._cluster_signing = cluster_signing
        self._lb_pool = lb_pool
        self._local_path_root = local_path_root
        self._clients: list[Client] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.controller_manager: ControllerManager | None = None
        self.scheduler: SchedulerService | None = None

    def _client(self, user_agent: str, *, qps: float = 500, burst: int = 1000) -> Client:
        client = Client(load_kubeconfig(self._kubeconfig), qps=qps, burst=burst,
                        user_agent=user_agent, local=self._local)
        self._clients.append(client)
        return client

    async def start(self) -> None:
        if self._controllers:
            client = self._client("steersman-controller-manager")
            self.controller_manager = ControllerManager(
                client, build_controllers(client, self._controllers,
                                          cluster_signing=self._cluster_signing,
                                          lb_pool=self._lb_pool,
                                          local_path_root=self._local_path_root),
                election=controller_manager_election(enabled=self._leader_elect))
            self._spawn(self.controller_manager.run(), "controller-manager")
        if self._scheduler:
            # Bindings are the scheduler's hot path: throttle them only by the binder's
            # in-flight bound, as scheduler_perf runs kube-scheduler (QPS 5000).
            client = self._client("steersman-scheduler", qps=5000, burst=5000)
            self.scheduler = SchedulerService(
                client, leader_election=scheduler_election(enabled=self._leader_elect))
            self._spawn(self.scheduler.run(), "scheduler")
        if self._ingress is not None:
            # The ingress data plane serves on its own, without leader election: binding
            # here makes a port clash fail the server's start with a clear message.
            self.ingress = IngressController(self._client("steersman-ingress"), self._ingress)
            await self.ingress.start()
            self._spawn(self.ingress.run(), "ingress")
        if self._dns is not None:
            await self._start_dns(self._dns)

    async def _start_dns(self, config: DNSConfig) -> None:
        # Not fatal: port 53 needs root, and one machine's several clusters (or test
        # servers) share the address; the server runs on and says why DNS is off.
        dns = ClusterDNS(self._client("steersman-dns"), config)
        try:
            if config.endpoint:
                await self._add_dns_address(config.listen_address)
            await dns.start()
        except DNSListenError as err:
            self.dns_error = str(err)
            log.info("%s", err)  # the CLI prints it among the start-up lines
            await self._remove_dns_address()
            return
        self.dns = dns

    async def _add_dns_address(self, address: str) -> None:
        """As kube-dns's endpoint (bridge networking) cluster DNS listens on an address of
        this machine that pods reach only through the ClusterIP's DNAT: put it on ``lo``."""
        if ipaddress.ip_address(address).is_loopback:
            return
        if os.geteuid() != 0:
            raise DNSListenError(f"cluster DNS is off: listening on {address} for bridge "
                                 "networking needs root; or turn DNS off with --no-dns")
        try:
            if await links.add_local_address(address):
                self._dns_address = address
        except NetworkError as err:
            raise DNSListenError(f"cluster DNS is off: {err}") from err

    async def _remove_dns_address(self) -> None:
        if self._dns_address:
            with contextlib.suppress(NetworkError):
                await links.delete_local_address(self._dns_address)
            self._dns_address = ""

    def _spawn(self, coroutine: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coroutine, name=name)
        task.add_done_callback(_report_exit)
        self._tasks.append(task)

    async def stop(self) -> None:
        for task in reversed(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self.ingress is not None:
            await self.ingress.stop()
        if self.dns is not None:
            await self.dns.stop()
        await self._remove_dns_address()
        for client in self._clients:
            await client.close()
        self._clients.clear()


def _report_exit(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("%s stopped: %s", task.get_name(), task.exception(),
                  exc_info=task.exception())
