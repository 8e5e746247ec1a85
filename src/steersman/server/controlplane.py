"""Composition of the control plane: store → watch cache → registry → HTTP(S) API server.

``ControlPlane.start`` opens the store named by the configuration (SQLite under the data
dir by default), loads the watch cache, wires admission, serves the stored CRDs' resources,
creates the built-in objects and the default join token (``<data dir>/node-token``, see
:mod:`steersman.apiserver.bootstrap_tokens`), binds the listener (HTTPS with a generated
CA, or plain HTTP on loopback for experiments), and writes the admin kubeconfig. The
controller manager signs node certificates with that CA. ``stop`` undoes it in reverse order.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import time
from dataclasses import dataclass, replace
from pathlib import Path

from aiohttp import web

from steersman.api.builtin import builtin_registry
from steersman.api.frozen import freeze_shared
from steersman.apiserver.admission import NamespaceLifecycle
from steersman.apiserver.app import APIServer
from steersman.apiserver.authn import Authenticator, UserInfo
from steersman.apiserver.bootstrap import ensure_builtin_objects
from steersman.apiserver.bootstrap_tokens import (
    BootstrapTokenAuthenticator,
    ensure_join_token,
    secret_lookup,
)
from steersman.apiserver.crd import CustomResourceAdmission, CustomResourceDefinitions
from steersman.apiserver.generic import GenericRegistry
from steersman.apiserver.kubeconfig import write_kubeconfig
from steersman.apiserver.local import LocalEndpoint
from steersman.apiserver.metrics_api import MetricsAPI, node_metrics_api
from steersman.apiserver.nodeproxy import NodeProxy
from steersman.apiserver.pki import (
    ensure_admin_token,
    ensure_pki,
    ensure_service_account_key,
    kubelet_client_ssl_context,
    server_ssl_context,
)
from steersman.apiserver.priority_admission import PriorityAdmission
from steersman.apiserver.service_account_tokens import ServiceAccountTokens
from steersman.apiserver.service_allocation import ServiceAllocator
from steersman.apiserver.serviceaccount_admission import ServiceAccountDefaults
from steersman.apiserver.storageclass_admission import (
    DefaultStorageClass,
    StorageObjectInUseProtection,
)
from steersman.apiserver.tokenrequest import registry_lookup
from steersman.apiserver.tolerations_admission import DefaultTolerationSeconds
from steersman.apiserver.watchcache import WatchCache
from steersman.controllers.certificates import ClusterSigning
from steersman.controllers.servicelb import DEFAULT_LB_POOL
from steersman.dns import DNSConfig, dns_endpoint_ip, dns_service_ip
from steersman.ingress import IngressConfig
from steersman.server.components import Components
from steersman.store import open_store
from steersman.store.interface import Store

log = logging.getLogger(__name__)
ADMIN = UserInfo("steersman-admin", ("system:masters", "system:authenticated"))


def default_data_dir(cluster: str) -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "steersman" / cluster


@dataclass(frozen=True)
class ServerConfig:
    data_dir: Path
    cluster_name: str = "default"
    bind_address: str = "127.0.0.1"
    port: int = 6443
    store_url: str = ""
    insecure_http: bool = False
    service_cidr: str = "127.43.0.0/16"
    lb_pool: str = DEFAULT_LB_POOL
    controllers: tuple[str, ...] = ("*",)
    leader_elect: bool = True
    scheduler: bool = True
    ingress: IngressConfig | None = None
    dns: DNSConfig | None = None
    in_process_clients: bool = True

    @property
    def store(self) -> str:
        return self.store_url or f"sqlite://{self.data_dir / 'state.db'}"

    @property
    def kubeconfig_path(self) -> Path:
        return self.data_dir / "admin.kubeconfig"


class ControlPlane:
    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.store: Store | None = None
        self.cache: WatchCache | None = None
        self.api: APIServer | None = None
        self._runner: web.ServerRunner | None = None
        self._crds: CustomResourceDefinitions | None = None
        self.allocator: ServiceAllocator | None = None
        self.components: Components | None = None
        self.port = 0
        self.join_token_path: Path | None = None

    @property
    def url(self) -> str:
        scheme = "http" if self.config.insecure_http else "https"
        return f"{scheme}://{_host_for_url(self.config.bind_address)}:{self.port}"

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        config = self.config
        _check_insecure(config)
        config.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(config.data_dir, 0o700)
        self.store = open_store(config.store)
        await self.store.start()
        self.cache = WatchCache(self.store)
        await self.cache.start()
        listener = _bind(config.bind_address, config.port)
        self.port = listener.getsockname()[1]
        self.api = await self._build_api()
        await self._serve(listener)
        self.api.ready = True
        log.info("API server listening on %s", self.url)
        self.components = Components(config.kubeconfig_path, controllers=config.controllers,
                                     leader_elect=config.leader_elect,
                                     scheduler=config.scheduler,
                                     cluster_signing=self._cluster_signing(),
                                     lb_pool=config.lb_pool,
                                     ingress=config.ingress, dns=_dns(config),
                                     local_path_root=config.data_dir / "volumes",
                                     local=self._local_endpoint())
        await self.components.start()

    def _local_endpoint(self) -> LocalEndpoint | None:
        """The components' way in, unless ``in_process_clients`` is off (they then use
        loopback HTTPS with the admin kubeconfig)."""
        assert self.api is not None
        if not self.config.in_process_clients:
            return None
        return LocalEndpoint(self.api, ADMIN, freeze_watched=freeze_shared())

    async def _build_api(self) -> APIServer:
        assert self.store is not None and self.cache is not None
        resources = builtin_registry()
        registry = GenericRegistry(store=self.store, cache=self.cache, resources=resources)
        allocator = self.allocator = ServiceAllocator(self.config.service_cidr,
                                                       store=self.store, cache=self.cache)
        self._crds = CustomResourceDefinitions(registry=registry, resources=resources,
                                               cache=self.cache)
        registry.admission = [NamespaceLifecycle(registry, resources), allocator,
                              ServiceAccountDefaults(), DefaultTolerationSeconds(),
                              PriorityAdmission(registry, resources),
                              DefaultStorageClass(registry, resources),
                              StorageObjectInUseProtection(),
                              CustomResourceAdmission(registry, self._crds.info)]
        self._crds.start()
        await allocator.start()
        await ensure_builtin_objects(
            registry, resources, cluster_ip=allocator.kubernetes_ip(),
            advertise_ip=_advertise_ip(self.config.bind_address), port=self.port)
        tokens = ServiceAccountTokens(
            key=ensure_service_account_key(self.config.data_dir / "pki"))
        ca_pem = await self._ensure_join_token(registry)
        return APIServer(resources=resources, registry=registry, cache=self.cache,
                         authenticator=self._authenticator(tokens, registry),
                         server_address=f"{_advertise_ip(self.config.bind_address)}:{self.port}",
                         service_accounts=tokens, node_proxy=self._node_proxy(registry),
                         ca_pem=ca_pem, node_metrics=self._node_metrics(registry))

    async def _ensure_join_token(self, registry: GenericRegistry) -> bytes | None:
        """The CA served at /cacerts; keeps the join token in <data dir>/node-token."""
        if self.config.insecure_http:
            return None
        pki = ensure_pki(self.config.data_dir / "pki", hosts=_sans(self.config.bind_address))
        ca_pem = pki.ca_cert.read_bytes()
        self.join_token_path = await ensure_join_token(registry, self.config.data_dir,
                                                       ca_pem=ca_pem)
        return ca_pem

    def _cluster_signing(self) -> ClusterSigning | None:
        if self.config.insecure_http:
            return None
        pki_dir = self.config.data_dir / "pki"
        return ClusterSigning(cert_file=pki_dir / "ca.crt", key_file=pki_dir / "ca.key")

    def _node_proxy(self, registry: GenericRegistry) -> NodeProxy | None:
        """Relays pod logs, exec, attach and port-forward to node agents (HTTPS only)."""
        if self.config.insecure_http:
            return None
        pki = ensure_pki(self.config.data_dir / "pki", hosts=_sans(self.config.bind_address))
        return NodeProxy(registry, kubelet_client_ssl_context(pki))

    def _node_metrics(self, registry: GenericRegistry) -> MetricsAPI | None:
        """metrics.k8s.io from the node agents' /metrics/resource (HTTPS only)."""
        if self.config.insecure_http:
            return None
        pki = ensure_pki(self.config.data_dir / "pki", hosts=_sans(self.config.bind_address))
        return node_metrics_api(registry, kubelet_client_ssl_context(pki))

    def _authenticator(self, tokens: ServiceAccountTokens,
                       registry: GenericRegistry) -> Authenticator | None:
        if self.config.insecure_http:
            return None
        token = ensure_admin_token(self.config.data_dir)
        return Authenticator({token: ADMIN}, service_accounts=tokens,
                             lookup=registry_lookup(registry),
                             bootstrap=BootstrapTokenAuthenticator(
                                 secret_lookup(registry), clock=time.time).authenticate)

    async def _serve(self, listener: socket.socket) -> None:
        assert self.api is not None
        ssl_context = None
        if not self.config.insecure_http:
            pki = ensure_pki(self.config.data_dir / "pki", hosts=_sans(self.config.bind_address))
            ssl_context = server_ssl_context(pki)
            write_kubeconfig(
                self.config.kubeconfig_path, cluster_name=self.config.cluster_name,
                server=self.url, ca_pem=pki.ca_cert.read_bytes(),
                client_cert_pem=pki.admin_cert.read_bytes(),
                client_key_pem=pki.admin_key.read_bytes())
        else:
            write_kubeconfig(self.config.kubeconfig_path, cluster_name=self.config.cluster_name,
                             server=self.url, ca_pem=None)
        server = web.Server(self.api.handle, access_log=None)
        self._runner = web.ServerRunner(server, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.SockSite(self._runner, listener, ssl_context=ssl_context)
        await site.start()

    async def stop(self) -> None:
        if self.components is not None:
            await self.components.stop()
        if self._runner is not None:
            await self._runner.cleanup()
        if self.allocator is not None:
            await self.allocator.stop()
        if self._crds is not None:
            await self._crds.close()
        if self.cache is not None:
            await self.cache.close()
        if self.store is not None:
            await self.store.close()


def _dns(config: ServerConfig) -> DNSConfig | None:
    """Cluster DNS at the kube-dns address of this server's service range: on that address
    itself in a loopback range (host networking), else (bridge networking, 10.43.0.0/16)
    as kube-dns's endpoint at the range's ``.53``, which node proxies DNAT the ClusterIP to
    (docs/networking.md says why)."""
    if config.dns is None:
        return None
    service_ip = dns_service_ip(config.service_cidr)
    if ipaddress.ip_address(service_ip).is_loopback:
        return replace(config.dns, service_ip=service_ip)
    return replace(config.dns, service_ip=service_ip, endpoint=True,
                   address=config.dns.address or dns_endpoint_ip(config.service_cidr))


def _check_insecure(config: ServerConfig) -> None:
    if config.insecure_http and not ipaddress.ip_address(
            _advertise_ip(config.bind_address)).is_loopback:
        raise ValueError("--insecure-http serves without authentication and is only allowed "
                         "on a loopback address (e.g. --bind-address 127.0.0.1)")


def _bind(address: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((address, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def _advertise_ip(bind_address: str) -> str:
    return "127.0.0.1" if bind_address in ("0.0.0.0", "", "localhost") else bind_address


def _host_for_url(address: str) -> str:
    host = _advertise_ip(address)
    return f"[{host}]" if ":" in host else host


def _sans(bind_address: str) -> tuple[str, ...]:
    hosts = ["127.0.0.1", "localhost"]
    if bind_address not in ("0.0.0.0", "", "localhost", "127.0.0.1"):
        hosts.append(bind_address)
    return tuple(hosts)
