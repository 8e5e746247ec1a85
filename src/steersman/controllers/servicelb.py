"""Load-balancer IPs: the cloud-controller role for ``type: LoadBalancer`` Services.

:class:`ServiceLBController` gives each LoadBalancer Service one address of a pool
(``steersman server --lb-pool CIDR``, default ``127.44.0.0/24``: loopback, so node proxies
can serve it without root) and writes it to ``status.loadBalancer.ingress[0].ip``; the
node proxies then serve ``ip:port``. The rules:

* an address is never held by two Services: the :class:`AddressPool` is rebuilt from the
  Services' statuses at the start of every leadership term, before anything is handed out,
  and every status write carries the resourceVersion it was based on (a conflict retries);
* ``spec.loadBalancerIP`` is honoured when it is in the pool and free; otherwise, and when
  the pool is exhausted, the Service stays ``<pending>`` with a Warning Event
  ``SyncLoadBalancerFailed`` (upstream's reason) saying what to do, and is retried when an
  address is released;
* the address is released when the Service is deleted or stops being a LoadBalancer (its
  status is cleared); Services with ``spec.loadBalancerClass`` belong to another
  implementation and are left alone, as upstream's service controller does.
"""

from __future__ import annotations

import copy
import ipaddress
from typing import Any

from steersman.api.errors import StatusError
from steersman.client import SERVICES, Client, Clock
from steersman.controllers.runtime import InformerFactory, QueueController, object_key

Object = dict[str, Any]
DEFAULT_LB_POOL = "127.44.0.0/24"
FAILED_REASON = "SyncLoadBalancerFailed"


def parse_pool(cidr: str) -> ipaddress.IPv4Network:
    """The pool network; :class:`ValueError` with what is wrong otherwise."""
    try:
        network = ipaddress.IPv4Network(cidr, strict=False)
    except ValueError as err:
        raise ValueError(f"{cidr!r} is not an IPv4 CIDR (e.g. 127.44.0.0/24): "
                         f"{err}") from err
    if network.num_addresses > 1 << 16:
        raise ValueError(f"{cidr} is larger than a /16; pick a smaller range")
    if network.is_multicast or network.overlaps(ipaddress.IPv4Network("0.0.0.0/8")):
        raise ValueError(f"{cidr} holds no unicast addresses a Service could be reached at; "
                         f"use a range such as 127.44.0.0/24")
    return network


class AddressPool:
    """Which pool address each Service (by key) holds."""

    def __init__(self, network: ipaddress.IPv4Network) -> None:
        self.network = network
        self._holder: dict[str, str] = {}
        self._address: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._holder)

    @property
    def size(self) -> int:
        return sum(1 for _ in self._hosts())

    def address_of(self, key: str) -> str | None:
        return self._address.get(key)

    def holder_of(self, ip: str) -> str | None:
        return self._holder.get(ip)

    def contains(self, ip: str) -> bool:
        try:
            return ipaddress.IPv4Address(ip) in self.network
        except ipaddress.AddressValueError:
            return False

    def claim(self, key: str, ip: str) -> bool:
        """Give ``ip`` to ``key`` if it is in the pool and not held by another Service."""
        if not self.contains(ip) or self._holder.get(ip, key) != key:
            return False
        self.release(key)
        self._holder[ip], self._address[key] = key, ip
        return True

    def allocate(self, key: str) -> str | None:
        """The lowest free address for ``key`` (its own if it holds one); None when full."""
        held = self._address.get(key)
        if held is not None:
            return held
        for host in self._hosts():
            if str(host) not in self._holder:
                self.claim(key, str(host))
                return str(host)
        return None

    def release(self, key: str) -> str | None:
        ip = self._address.pop(key, None)
        if ip is not None:
            del self._holder[ip]
        return ip

    def _hosts(self) -> Any:
        return self.network.hosts() if self.network.prefixlen < 31 else iter(self.network)


def is_ours(service: Object) -> bool:
    spec = service.get("spec") or {}
    return spec.get("type") == "LoadBalancer" and not spec.get("loadBalancerClass")


def ingress_ips(service: Object) -> list[str]:
    ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return [str(entry["ip"]) for entry in ingress if entry.get("ip")]


class ServiceLBController(QueueController):
    """Assigns and releases load-balancer addresses from one pool."""

    name = "servicelb"
    workers = 1  # the pool is shared state: one reconcile at a time hands out addresses

    def __init__(self, client: Client, *, pool: str = DEFAULT_LB_POOL,
                 clock: Clock | None = None) -> None:
        super().__init__(client, clock=clock)
        self._network = parse_pool(pool)
        self.pool = AddressPool(self._network)
        self._rebuilt = False
        self._pending: set[str] = set()
        self._warned: dict[str, str] = {}

    def start_term(self) -> None:
        super().start_term()
        self.pool, self._rebuilt = AddressPool(self._network), False
        self._pending.clear()
        self._warned.clear()

    def setup(self, factory: InformerFactory) -> None:
        self._services = factory.informer(SERVICES)
        self._services.add_handlers(on_add=self.enqueue,
                                    on_update=lambda _, new: self.enqueue(new),
                                    on_delete=self.enqueue)

    def _rebuild(self) -> None:
        """Record every address the Services already hold (first come keeps it)."""
        held = sorted(self._services.indexer.list(),
                      key=lambda s: str((s.get("metadata") or {}).get("creationTimestamp")))
        for service in held:
            if is_ours(service):
                for ip in ingress_ips(service):
                    if self.pool.claim(object_key(service), ip):
                        break
        self._rebuilt = True

    async def reconcile(self, key: str) -> float | None:
        if not self._rebuilt:
            self._rebuild()
        service = self._services.indexer.get(key)
        if service is None or not is_ours(service):
            self._pending.discard(key)
            self._release(key)
            if service is not None and shows_pool_address(service, self.pool):
                await self._write_ingress(service, None)
            return None
        await self._ensure(key, service)
        return None

    def _release(self, key: str) -> None:
        if self.pool.release(key) is not None:
            for waiting in sorted(self._pending):
                self.queue.add(waiting)

    async def _ensure(self, key: str, service: Object) -> None:
        current = ingress_ips(service)
        wanted = str((service.get("spec") or {}).get("loadBalancerIP") or "")
        ip, problem = self._choose(key, current, wanted)
        if ip is None:
            # Pending holds nothing: an address shown from before (another Service's, or
            # one the requested loadBalancerIP replaces) is withdrawn.
            self._pending.add(key)
            self._release(key)
            if current:
                await self._write_ingress(service, None)
            await self._warn(key, service, problem)
            return
        self._pending.discard(key)
        self._warned.pop(key, None)
        if current != [ip]:
            try:
                await self._write_ingress(service, ip)
            except StatusError:
                self.pool.release(key)
                raise

    def _choose(self, key: str, current: list[str], wanted: str) -> tuple[str | None, str]:
        if wanted:
            if self.pool.claim(key, wanted):
                return wanted, ""
            holder = self.pool.holder_of(wanted)
            why = (f"is held by Service {holder}" if holder else
                   f"is not in the load-balancer pool {self._network}")
            return None, (f"spec.loadBalancerIP {wanted} {why}: choose a free address of "
                          f"{self._network}, or remove spec.loadBalancerIP")
        if current and self.pool.address_of(key) == current[0]:
            return current[0], ""
        ip = self.pool.allocate(key)
        if ip is None:
            return None, (f"no free address in the load-balancer pool {self._network} "
                          f"({len(self.pool)} of {self.pool.size} in use): delete an unused "
                          f"LoadBalancer Service, or restart the server with a larger "
                          f"--lb-pool")
        return ip, ""

    async def _write_ingress(self, service: Object, ip: str | None) -> None:
        updated = copy.deepcopy(service)
        status = updated.setdefault("status", {})
        status["loadBalancer"] = {"ingress": [{"ip": ip, "ipMode": "VIP"}]} if ip else {}
        await self.client.update_status(SERVICES, updated)

    async def _warn(self, key: str, service: Object, message: str) -> None:
        if self._warned.get(key) == message:
            return
        self._warned[key] = message
        try:
            await self.client.create_event(service, reason=FAILED_REASON, message=message,
                                           type="Warning", component="service-controller")
        except StatusError:
            self._warned.pop(key, None)
            raise


def shows_pool_address(service: Object, pool: AddressPool) -> bool:
    """A Service that stopped being a LoadBalancer but still shows one of our addresses."""
    if (service.get("spec") or {}).get("type") == "LoadBalancer":
        return False
    return any(pool.contains(ip) for ip in ingress_ips(service))
