"""Cluster DNS as a server component: the ``kube-dns`` Service, the zone, the listeners.

``ClusterDNS.start`` ensures ``kube-system/kube-dns`` (ClusterIP ``service_ip``, ports
``dns`` 53/UDP and ``dns-tcp`` 53/TCP, labelled so the service proxy leaves it alone: this
process binds that address itself), binds UDP and TCP on ``address:port`` (a
:class:`DNSListenError` says why it could not and what to do), and starts the informers.
``stop`` undoes it.

Neighbours: :mod:`.sync` fills the :class:`~steersman.dns.zone.Zone`, :mod:`.server`
answers from it, :mod:`.forward` asks upstreams for the rest. The composition layer
(``steersman.server.components``) builds one from the server's flags.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import time
from dataclasses import dataclass

from steersman.api.errors import StatusError
from steersman.client import SERVICES, Client
from steersman.dns.forward import Forwarder, Upstream, resolv_conf_upstreams
from steersman.dns.records import DEFAULT_TTL, RecordBuilder, Records
from steersman.dns.server import DNSServer, Resolver
from steersman.dns.sync import ZoneSync
from steersman.dns.zone import Zone

log = logging.getLogger(__name__)
PROXY_NAME_LABEL = "service.kubernetes.io/service-proxy-name"
DNS_PROXY_NAME = "steersman-dns"


@dataclass(frozen=True)
class DNSConfig:
    """Where cluster DNS listens, what it serves and where it forwards.

    ``upstreams=None`` means the nameservers of /etc/resolv.conf.
    """

    service_ip: str = "127.43.0.10"
    address: str = ""
    port: int = 53
    domain: str = "cluster.local"
    upstreams: tuple[Upstream, ...] | None = None
    ttl: int = DEFAULT_TTL
    pod_records: bool = True

    @property
    def listen_address(self) -> str:
        return self.address or self.service_ip


def dns_service_ip(service_cidr: str) -> str:
    """The tenth address of the service range, kube-dns's by convention (10.96.0.10)."""
    return str(ipaddress.ip_network(service_cidr).network_address + 10)


def kube_dns_service(service_ip: str) -> dict[str, object]:
    """The ``kube-system/kube-dns`` Service that points pods at cluster DNS."""
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kube-dns", "namespace": "kube-system", "labels": {
            "k8s-app": "kube-dns", "kubernetes.io/name": "steersman-dns",
            PROXY_NAME_LABEL: DNS_PROXY_NAME}},
        "spec": {"clusterIP": service_ip, "ports": [
            {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53}]},
    }


class DNSListenError(Exception):
    """Cluster DNS could not bind its address; the message says what to change."""


class ClusterDNS:
    """The kube-dns Service, a zone kept by informers, and the listeners answering from it."""

    def __init__(self, client: Client, config: DNSConfig) -> None:
        self.config = config
        self._client = client
        self.zone = Zone(config.domain)
        builder = RecordBuilder(ttl=config.ttl)
        apex: Records = {}
        builder.apex(apex, domain=self.zone.origin, dns_ip=config.service_ip,
                     serial=int(time.time()))
        self.zone.replace("apex", apex)
        self.sync = ZoneSync(client, self.zone, builder=builder, pods=config.pod_records)
        upstreams = config.upstreams
        if upstreams is None:
            upstreams = tuple(resolv_conf_upstreams(
                exclude=(config.service_ip, config.listen_address)))
        self.server = DNSServer(Resolver(self.zone, Forwarder(upstreams)))
        self._task: asyncio.Task[None] | None = None

    @property
    def address(self) -> tuple[str, int]:
        """Where it listens, once started (the real port when ``port`` was 0)."""
        return self.server.address

    async def start(self) -> None:
        """Ensure kube-dns, bind, start the informers; :class:`DNSListenError` if unbound."""
        await self._ensure_service()
        host, port = self.config.listen_address, self.config.port
        try:
            await self.server.start(host, port)
        except OSError as err:
            raise DNSListenError(_listen_advice(host, port, err)) from err
        self._task = asyncio.create_task(self.sync.run(), name="cluster-dns-informers")
        log.info("cluster DNS serving %s on %s:%d (UDP, TCP)", self.config.domain,
                 *self.server.address)

    async def _ensure_service(self) -> None:
        wanted = kube_dns_service(self.config.service_ip)
        try:
            current = await self._client.get(SERVICES, "kube-dns", namespace="kube-system")
        except StatusError as err:
            if err.code != 404:
                raise
            try:
                await self._client.create(SERVICES, wanted, namespace="kube-system")
            except StatusError as create_err:
                if create_err.code != 409:
                    log.warning("cluster DNS: cannot create kube-system/kube-dns with "
                                "clusterIP %s: %s", self.config.service_ip, create_err)
            return
        ip = (current.get("spec") or {}).get("clusterIP")
        if ip != self.config.service_ip:
            log.warning("cluster DNS: kube-system/kube-dns has clusterIP %s, not %s; pods "
                        "pointed at it will not reach this server", ip, self.config.service_ip)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        await self.server.stop()


def _listen_advice(host: str, port: int, err: OSError) -> str:
    if err.errno == errno.EACCES:
        why = f"port {port} is privileged: run as root, or pick a port above 1023 with --dns-port"
    elif err.errno == errno.EADDRINUSE:
        why = ("something else holds it (another cluster on this machine?): pick another "
               "--dns-address or --dns-port")
    else:
        why = "pick another --dns-address or --dns-port"
    return (f"cluster DNS is off: cannot listen on {host}:{port} ({err.strerror or err}); "
            f"{why}, or turn DNS off with --no-dns")
