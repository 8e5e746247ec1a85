"""Cluster DNS as a server component: the ``kube-dns`` Service, the zone, the listeners.

``ClusterDNS.start`` ensures ``kube-system/kube-dns`` (ClusterIP ``service_ip``, ports
``dns`` 53/UDP and ``dns-tcp`` 53/TCP), binds UDP and TCP on ``address:port`` (a
:class:`DNSListenError` says why it could not and what to do), and starts the informers.
``stop`` undoes it. Two ways to be reached through the Service:

* the server binds the ClusterIP itself (host networking, a loopback service range): the
  Service is labelled ``service.kubernetes.io/service-proxy-name`` so node proxies leave
  it alone;
* ``endpoint=True`` (bridge networking): kube-dns is an ordinary Service whose
  EndpointSlice (``kube-system/kube-dns``, managed by ``steersman-dns``) names the address
  and port this server listens on, and the node proxies DNAT the ClusterIP there, as
  kube-proxy does for CoreDNS pods.

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
from typing import Any

from steersman.api.errors import StatusError
from steersman.client import ENDPOINTSLICES, SERVICES, Client, PatchType
from steersman.dns.forward import Forwarder, Upstream, resolv_conf_upstreams
from steersman.dns.records import DEFAULT_TTL, RecordBuilder, Records
from steersman.dns.server import DNSServer, Resolver
from steersman.dns.sync import ZoneSync
from steersman.dns.zone import Zone

log = logging.getLogger(__name__)
PROXY_NAME_LABEL = "service.kubernetes.io/service-proxy-name"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
DNS_PROXY_NAME = "steersman-dns"
Object = dict[str, Any]


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
    endpoint: bool = False  # publish listen address:port as kube-dns's endpoint (module)

    @property
    def listen_address(self) -> str:
        return self.address or self.service_ip


def dns_service_ip(service_cidr: str) -> str:
    """The tenth address of the service range, kube-dns's by convention (10.96.0.10)."""
    return str(ipaddress.ip_network(service_cidr).network_address + 10)


def dns_endpoint_ip(service_cidr: str) -> str:
    """Where cluster DNS listens when it is kube-dns's endpoint rather than its ClusterIP:
    the range's ``.53``, among the addresses only Services asking for them get (KEP-3070)."""
    return str(ipaddress.ip_network(service_cidr).network_address + 53)


def kube_dns_service(service_ip: str, *, proxied: bool = False) -> Object:
    """The ``kube-system/kube-dns`` Service that points pods at cluster DNS (``proxied``:
    node proxies serve its ClusterIP; else they leave it to this server)."""
    labels = {"k8s-app": "kube-dns", "kubernetes.io/name": "steersman-dns"}
    if not proxied:
        labels[PROXY_NAME_LABEL] = DNS_PROXY_NAME
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kube-dns", "namespace": "kube-system", "labels": labels},
        "spec": {"clusterIP": service_ip, "ports": [
            {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53}]},
    }


def kube_dns_endpoint_slice(ip: str, port: int) -> Object:
    """kube-dns's EndpointSlice: this server at ``ip:port``, ready."""
    return {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "kube-dns", "namespace": "kube-system", "labels": {
            SERVICE_NAME_LABEL: "kube-dns", MANAGED_BY_LABEL: DNS_PROXY_NAME}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [ip], "conditions": {"ready": True}}],
        "ports": [{"name": "dns", "port": port, "protocol": "UDP"},
                  {"name": "dns-tcp", "port": port, "protocol": "TCP"}],
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
        if self.config.endpoint:
            await self._publish_endpoint()
        self._task = asyncio.create_task(self.sync.run(), name="cluster-dns-informers")
        log.info("cluster DNS serving %s on %s:%d (UDP, TCP)", self.config.domain,
                 *self.server.address)

    async def _publish_endpoint(self) -> None:
        host, port = self.server.address
        try:
            await self._client.patch(
                ENDPOINTSLICES, "kube-dns", kube_dns_endpoint_slice(host, port),
                namespace="kube-system", patch_type=PatchType.APPLY,
                field_manager=DNS_PROXY_NAME, force=True)
        except StatusError as err:
            log.warning("cluster DNS: cannot publish kube-system/kube-dns's endpoint %s:%d: "
                        "%s; pods will not reach it", host, port, err)

    async def _ensure_service(self) -> None:
        wanted = kube_dns_service(self.config.service_ip, proxied=self.config.endpoint)
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
        await self._relabel(current, wanted)
        ip = (current.get("spec") or {}).get("clusterIP")
        if ip != self.config.service_ip:
            log.warning("cluster DNS: kube-system/kube-dns has clusterIP %s, not %s; pods "
                        "pointed at it will not reach this server", ip, self.config.service_ip)

    async def _relabel(self, current: Object, wanted: Object) -> None:
        """Add or drop the proxy-name label (the server was restarted in the other mode)."""
        label = wanted["metadata"]["labels"].get(PROXY_NAME_LABEL)
        if ((current.get("metadata") or {}).get("labels") or {}).get(PROXY_NAME_LABEL) == label:
            return
        try:
            await self._client.patch(SERVICES, "kube-dns", {"metadata": {"labels": {
                PROXY_NAME_LABEL: label}}}, namespace="kube-system")
        except StatusError as err:
            log.warning("cluster DNS: cannot relabel kube-system/kube-dns: %s", err)

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
