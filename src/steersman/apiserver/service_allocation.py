"""ClusterIPs and NodePorts, never given twice — also when several API servers share a store.

Every allocation is a key of its own in the store, created with create-if-absent, which is
the store's compare-and-swap: of two servers racing for one address, exactly one write
succeeds, and the other picks again (an address the user asked for answers 422 "already
allocated"). This is upstream's design since KEP-1880 (one ``IPAddress`` object per
allocated address) in place of a single bitmap::

    /registry/allocations/serviceips/<ip>            {"owner": {namespace, name, uid}}
    /registry/allocations/nodeports/<protocol>/<port>

Candidates are chosen from what the watch cache has seen of those keys (every server's
writes arrive there), so a collision is only a retry. Addresses are taken at admission,
before the Service is written, and released once the write that drops them has happened:
each server's watch cache reports Service changes and deletions, and the owner's keys are
deleted (whoever does it first; the others find them gone). A create that fails afterwards
gives its keys back at once; anything else left behind (a server killed between the two
writes, an update that lost a conflict) is found by the repair pass, run at start and
every few minutes: a key whose owner does not hold it on two passes in a row is deleted,
as upstream's repair controllers do.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import random
import time
from collections.abc import Iterator
from typing import Any

import orjson

from steersman.api import errors
from steersman.api.resources import ResourceInfo
from steersman.api.strategies.services import NODE_PORT_RANGE
from steersman.apiserver.watchcache import CachedEvent, ResourceCache, WatchCache
from steersman.store.interface import KeyExists, NotFound, Store, StoreError

log = logging.getLogger(__name__)

Object = dict[str, Any]
IPS_PREFIX = "/registry/allocations/serviceips/"
PORTS_PREFIX = "/registry/allocations/nodeports/"
SERVICES_PREFIX = "/registry/core/services/"
REPAIR_INTERVAL = 300.0
_ATTEMPTS = 64


class ServiceAllocator:
    """The admission plugin that fills in and guards ``clusterIP(s)`` and ``nodePort``."""

    def __init__(self, service_cidr: str, *, store: Store, cache: WatchCache,
                 seed: int | None = None) -> None:
        self._network = ipaddress.ip_network(service_cidr)
        self._store = store
        self._cache = cache
        self._random = random.Random(seed)
        self._suspects: set[str] = set()  # keys whose owner did not hold them last pass
        self._repairs: asyncio.Task[None] | None = None
        self._releases: set[asyncio.Task[None]] = set()

    def kubernetes_ip(self) -> str:
        return str(self._network.network_address + 1)

    # ---- life cycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Record the addresses of Services that have no keys yet (written before keys
        existed), run a first repair pass, then keep releasing and repairing."""
        for service in list(self._services().objects.values()):
            for key in _keys_of(service, self._network):
                if key in self._held(_prefix_of(key)):
                    continue
                with contextlib.suppress(KeyExists):
                    await self._store.create(key, _value(service))
        await self.repair()
        self._cache.add_listener(self._on_change)
        self._repairs = asyncio.create_task(self._repair_forever(), name="service-allocation")

    async def stop(self) -> None:
        tasks = [t for t in (self._repairs, *self._releases) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # ---- admission -----------------------------------------------------------------------

    async def admit(self, info: ResourceInfo, op: str, new: Object | None, old: Object | None,
                    *, dry_run: bool) -> None:
        if (info.group, info.kind) != ("", "Service") or new is None:
            return
        if op not in ("CREATE", "UPDATE"):
            return
        taken: list[str] = []
        try:
            await self._allocate(new, old if op == "UPDATE" else None, dry_run, taken)
        except BaseException:
            await self._give_back(taken)
            raise

    async def rollback(self, info: ResourceInfo, op: str, new: Object | None,
                       old: Object | None) -> None:
        """A create that failed after admission: give its addresses back."""
        if (info.group, info.kind) == ("", "Service") and op == "CREATE" and new is not None:
            await self._release(_keys_of(new, self._network), _uid(new))

    async def _allocate(self, service: Object, old: Object | None, dry_run: bool,
                        taken: list[str]) -> None:
        spec = service.setdefault("spec", {})
        kind = spec.get("type", "ClusterIP")
        if kind != "ExternalName":
            await self._cluster_ip(service, spec, old, dry_run, taken)
        if kind in ("NodePort", "LoadBalancer"):
            await self._node_ports(service, spec, old, dry_run, taken)

    async def _cluster_ip(self, service: Object, spec: Object, old: Object | None,
                          dry_run: bool, taken: list[str]) -> None:
        old_ip = ((old or {}).get("spec") or {}).get("clusterIP")
        ip = spec.get("clusterIP") or old_ip
        if ip == "None":
            spec["clusterIPs"] = ["None"]
            return
        if ip and ip != old_ip:
            self._check_ip(service, ip)
            if not await self._claim(IPS_PREFIX + ip, service, dry_run, taken):
                raise _invalid(service, "spec.clusterIPs", [ip],
                               f"failed to allocate IP {ip}: provided IP is already allocated")
        elif not ip:
            ip = await self._first_free(self._ip_candidates(), IPS_PREFIX, service, dry_run,
                                        taken, f"failed to allocate a serviceIP: range "
                                               f"{self._network} is full")
        spec["clusterIP"] = ip
        spec["clusterIPs"] = [ip]

    def _check_ip(self, service: Object, ip: str) -> None:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError as exc:
            raise _invalid(service, "spec.clusterIPs[0]", ip,
                           "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
                           ) from exc
        if address not in self._network:
            raise _invalid(service, "spec.clusterIPs[0]", ip,
                           f"provided IP is not in the valid range. The range of valid IPs is "
                           f"{self._network}")

    def _ip_candidates(self) -> Iterator[str]:
        # KEP-3070: the lowest min(max(16, size/16), 256) addresses are kept for Services
        # that ask for a fixed IP (kube-dns at .10): dynamic allocation takes the upper band
        # first and the lower band only once the upper one is full.
        size = self._network.num_addresses
        static = min(max(16, size // 16), 256)
        for low, high in ((static, size - 1), (2, min(static, size - 1))):
            if low >= high:
                continue
            span = high - low
            start = self._random.randrange(span)
            for offset in range(span):
                yield str(self._network.network_address + low + (start + offset) % span)

    async def _node_ports(self, service: Object, spec: Object, old: Object | None,
                          dry_run: bool, taken: list[str]) -> None:
        old_ports = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
                     for p in ((old or {}).get("spec") or {}).get("ports") or []}
        for index, port in enumerate(spec.get("ports") or []):
            protocol = port.get("protocol", "TCP")
            previous = old_ports.get((port.get("port"), protocol))
            wanted = port.get("nodePort") or previous
            if wanted and wanted == previous:
                port["nodePort"] = wanted
                continue
            if wanted:
                low, high = NODE_PORT_RANGE
                if not low <= int(wanted) <= high:
                    raise _invalid(service, f"spec.ports[{index}].nodePort", wanted,
                                   f"provided port is not in the valid range. The range of "
                                   f"valid ports is {low}-{high}")
                if not await self._claim(_port_key(protocol, int(wanted)), service, dry_run,
                                         taken):
                    raise _invalid(service, f"spec.ports[{index}].nodePort", wanted,
                                   "provided port is already allocated")
            else:
                low, high = NODE_PORT_RANGE
                found = await self._first_free(
                    _port_candidates(self._random), f"{PORTS_PREFIX}{protocol}/", service,
                    dry_run, taken, f"failed to allocate a nodePort: range {low}-{high} is full")
                wanted = int(found)
            port["nodePort"] = int(wanted)

    async def _first_free(self, candidates: Iterator[str], prefix: str, service: Object,
                          dry_run: bool, taken: list[str], full: str) -> str:
        """The first candidate nobody holds; a lost race (another server took it between
        our look and our write) moves on to the next."""
        held = self._held(prefix)
        attempts = 0
        for candidate in candidates:
            key = prefix + candidate
            if key in held or key in taken:
                continue
            if await self._claim(key, service, dry_run, taken):
                return candidate
            attempts += 1
            if attempts >= _ATTEMPTS:
                break
        raise errors.StatusError(500, "InternalError", full)

    async def _claim(self, key: str, service: Object, dry_run: bool, taken: list[str]) -> bool:
        """Take ``key`` for ``service``; False when someone else holds it."""
        if dry_run:
            return key not in self._held(_prefix_of(key)) or self._owned_by(key, service)
        try:
            await self._store.create(key, _value(service))
        except KeyExists:
            return self._owned_by(key, service, fresh=await self._read(key))
        taken.append(key)
        return True

    # ---- release and repair --------------------------------------------------------------

    def _on_change(self, prefix: str, event: CachedEvent) -> None:
        """After a Service write: delete the keys it no longer holds (DELETED: all)."""
        if prefix != SERVICES_PREFIX or event.type == "ADDED" or event.prev is None:
            return
        kept = set() if event.type == "DELETED" else set(_keys_of(event.obj, self._network))
        dropped = [k for k in _keys_of(event.prev, self._network) if k not in kept]
        if dropped:
            task = asyncio.get_running_loop().create_task(
                self._release(dropped, _uid(event.prev)))
            self._releases.add(task)
            task.add_done_callback(self._releases.discard)

    async def _release(self, keys: list[str], uid: str) -> None:
        for key in keys:
            current = await self._read(key)
            if current is None or (current.get("owner") or {}).get("uid") != uid:
                continue  # gone already, or re-taken by another Service since
            with contextlib.suppress(NotFound, StoreError):
                await self._store.delete(key, expected_revision=int(
                    current["metadata"]["resourceVersion"]))

    async def _give_back(self, keys: list[str]) -> None:
        for key in keys:
            with contextlib.suppress(NotFound, StoreError):
                await self._store.delete(key)

    async def repair(self) -> None:
        """One pass: keys whose owner does not hold them now and did not last pass go."""
        services = self._services().objects
        holders: dict[str, str] = {}
        for service in services.values():
            for key in _keys_of(service, self._network):
                holders[key] = _uid(service)
        suspects: set[str] = set()
        for prefix in (IPS_PREFIX, PORTS_PREFIX):
            for key, value in list(self._held(prefix).items()):
                if holders.get(key) == (value.get("owner") or {}).get("uid"):
                    continue
                if key in self._suspects:
                    log.info("releasing %s: no Service holds it", key)
                    with contextlib.suppress(NotFound, StoreError):
                        await self._store.delete(key, expected_revision=int(
                            value["metadata"]["resourceVersion"]))
                else:
                    suspects.add(key)
        self._suspects = suspects

    async def _repair_forever(self) -> None:
        while True:
            await asyncio.sleep(REPAIR_INTERVAL)
            try:
                await self.repair()
            except Exception:
                log.exception("service address repair failed; trying again later")

    # ---- views ---------------------------------------------------------------------------

    def _services(self) -> ResourceCache:
        return self._cache.cache_for(SERVICES_PREFIX)

    def _held(self, prefix: str) -> dict[str, Object]:
        """Allocation keys under ``prefix`` as this server's watch cache has seen them."""
        cache = self._cache.cache_for(_prefix_of(prefix + "x"))
        if prefix == cache.prefix:
            return cache.objects
        return {k: v for k, v in cache.objects.items() if k.startswith(prefix)}

    def _owned_by(self, key: str, service: Object, fresh: Object | None = None) -> bool:
        value = fresh if fresh is not None else self._held(_prefix_of(key)).get(key)
        return value is not None and (value.get("owner") or {}).get("uid") == _uid(service)

    async def _read(self, key: str) -> Object | None:
        found = await self._store.get(key)
        if found is None:
            return None
        obj: Object = orjson.loads(found.value)
        obj.setdefault("metadata", {})["resourceVersion"] = str(found.mod_revision)
        return obj


def _keys_of(service: Object, network: ipaddress.IPv4Network | ipaddress.IPv6Network
             ) -> list[str]:
    spec = service.get("spec") or {}
    keys = [IPS_PREFIX + ip for ip in spec.get("clusterIPs") or [spec.get("clusterIP")]
            if ip and ip != "None" and _within(ip, network)]
    keys.extend(_port_key(p.get("protocol", "TCP"), int(p["nodePort"]))
                for p in spec.get("ports") or [] if p.get("nodePort"))
    return keys


def _within(ip: str, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    try:
        return ipaddress.ip_address(ip) in network
    except ValueError:
        return False


def _port_key(protocol: str, port: int) -> str:
    return f"{PORTS_PREFIX}{protocol}/{port}"


def _port_candidates(rng: random.Random) -> Iterator[str]:
    low, high = NODE_PORT_RANGE
    start = rng.randrange(low, high + 1)
    for offset in range(high - low + 1):
        yield str(low + (start - low + offset) % (high - low + 1))


def _prefix_of(key: str) -> str:
    """The watch cache's resource prefix of an allocation key (its first three levels)."""
    parts = key.split("/")
    return "/".join(parts[:4]) + "/"


def _uid(service: Object) -> str:
    return str((service.get("metadata") or {}).get("uid") or "")


def _value(service: Object) -> bytes:
    meta = service.get("metadata") or {}
    return orjson.dumps({"owner": {"namespace": meta.get("namespace", ""),
                                   "name": meta.get("name", ""), "uid": meta.get("uid", "")},
                         "metadata": {"creationTimestamp": time.strftime(
                             "%Y-%m-%dT%H:%M:%SZ", time.gmtime())}})


def _invalid(service: Object, path: str, value: Any, detail: str) -> errors.StatusError:
    name = str((service.get("metadata") or {}).get("name") or "")
    return errors.invalid_object("Service", name, [errors.invalid(path, value, detail)])
