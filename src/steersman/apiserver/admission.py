"""Stateful admission: namespace lifecycle, pod status on create, Service IPs and node ports.

These need state the strategies cannot see: whether a namespace exists or is terminating,
which ClusterIPs and NodePorts are taken. Allocation state is rebuilt from the watch cache
at start and kept in memory; a failed create gives its allocations back (``rollback``).
"""

from __future__ import annotations

import ipaddress
import random
from typing import Any

from steersman.api import errors
from steersman.api.resources import Registry, ResourceInfo
from steersman.api.strategies import qos_class
from steersman.apiserver.generic import GenericRegistry

Object = dict[str, Any]
NODE_PORT_RANGE = (30000, 32767)
_ALWAYS_PRESENT = ("default", "kube-system", "kube-public", "kube-node-lease")


class NamespaceLifecycle:
    """Namespaced objects need a live namespace; built-in namespaces cannot be deleted."""

    def __init__(self, registry: GenericRegistry, resources: Registry) -> None:
        self._registry = registry
        self._namespaces = resources.get("", "v1", "namespaces")

    async def admit(self, info: ResourceInfo, op: str, new: Object | None, old: Object | None,
                    *, dry_run: bool) -> None:
        if op == "CREATE" and info.namespaced and new is not None:
            await self._check_namespace(new["metadata"]["namespace"])
        if op == "DELETING" and info.kind == "Namespace" and new is not None:
            name = new["metadata"]["name"]
            if name in _ALWAYS_PRESENT:
                raise errors.StatusError(
                    403, "Forbidden", f'namespaces "{name}" is forbidden: this namespace may '
                    f"not be deleted", {"name": name, "kind": "namespaces"})
        if op == "CREATE" and info.group == "" and info.kind == "Pod" and new is not None:
            new["status"] = {"phase": "Pending", "qosClass": qos_class(new)}

    async def _check_namespace(self, name: str) -> None:
        if self._namespaces is None:
            return
        namespace = await self._registry.lookup(self._namespaces, "", name)
        if namespace is None:
            raise errors.not_found("namespaces", name)
        if namespace["metadata"].get("deletionTimestamp"):
            raise errors.StatusError(
                403, "Forbidden", f"unable to create new content in namespace {name} because "
                f"it is being terminated",
                {"name": name, "kind": "namespaces",
                 "causes": [{"reason": "NamespaceTerminating",
                             "message": f"namespace {name} is being terminated",
                             "field": "metadata.namespace"}]})

    async def rollback(self, info: ResourceInfo, op: str, new: Object | None,
                       old: Object | None) -> None:
        return None


class ServiceAllocator:
    """ClusterIPs from the service range and NodePorts from 30000-32767, never twice."""

    def __init__(self, service_cidr: str, *, seed: int | None = None) -> None:
        self._network = ipaddress.ip_network(service_cidr)
        self._ips: set[str] = set()
        self._ports: set[tuple[int, str]] = set()
        self._random = random.Random(seed)

    def remember(self, service: Object) -> None:
        """Record what an existing Service holds (at start-up, from the cache)."""
        self._take(service)

    def kubernetes_ip(self) -> str:
        return str(self._network.network_address + 1)

    async def admit(self, info: ResourceInfo, op: str, new: Object | None, old: Object | None,
                    *, dry_run: bool) -> None:
        if (info.group, info.kind) != ("", "Service"):
            return
        if op == "CREATE" and new is not None:
            self._allocate(new, None, dry_run)
        elif op == "UPDATE" and new is not None and old is not None:
            self._allocate(new, old, dry_run)
            if not dry_run:
                self._release_unused(old, new)
        elif op == "DELETE" and old is not None:
            self._release_unused(old, None)

    async def rollback(self, info: ResourceInfo, op: str, new: Object | None,
                       old: Object | None) -> None:
        if (info.group, info.kind) == ("", "Service") and op == "CREATE" and new is not None:
            self._release_unused(new, None)

    def _allocate(self, service: Object, old: Object | None, dry_run: bool) -> None:
        spec = service.setdefault("spec", {})
        kind = spec.get("type", "ClusterIP")
        if kind != "ExternalName":
            self._cluster_ip(service, spec, old, dry_run)
        if kind in ("NodePort", "LoadBalancer"):
            self._node_ports(service, spec, old, dry_run)

    def _cluster_ip(self, service: Object, spec: Object, old: Object | None,
                    dry_run: bool) -> None:
        old_ip = ((old or {}).get("spec") or {}).get("clusterIP")
        ip = spec.get("clusterIP") or old_ip
        if ip == "None":
            spec["clusterIPs"] = ["None"]
            return
        if ip and ip != old_ip:
            self._claim_ip(service, ip, dry_run)
        elif not ip:
            ip = self._free_ip(service)
            if not dry_run:
                self._ips.add(ip)
        spec["clusterIP"] = ip
        spec["clusterIPs"] = [ip]

    def _claim_ip(self, service: Object, ip: str, dry_run: bool) -> None:
        name = service["metadata"]["name"]
        try:
            address = ipaddress.ip_address(ip)
        except ValueError as exc:
            raise _invalid(name, "spec.clusterIPs[0]", ip,
                           "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)") from exc
        if address not in self._network:
            raise _invalid(name, "spec.clusterIPs[0]", ip,
                           f"provided IP is not in the valid range. The range of valid IPs is "
                           f"{self._network}")
        if ip in self._ips:
            raise _invalid(name, "spec.clusterIPs", [ip],
                           f"failed to allocate IP {ip}: provided IP is already allocated")
        if not dry_run:
            self._ips.add(ip)

    def _free_ip(self, service: Object) -> str:
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
                candidate = str(self._network.network_address + low + (start + offset) % span)
                if candidate not in self._ips:
                    return candidate
        raise errors.StatusError(500, "InternalError",
                                 f"failed to allocate a serviceIP: range {self._network} is full")

    def _node_ports(self, service: Object, spec: Object, old: Object | None,
                    dry_run: bool) -> None:
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
                self._claim_port(service, index, int(wanted), protocol, dry_run)
            else:
                wanted = self._free_port(protocol)
                if not dry_run:
                    self._ports.add((wanted, protocol))
            port["nodePort"] = wanted

    def _claim_port(self, service: Object, index: int, port: int, protocol: str,
                    dry_run: bool) -> None:
        name = service["metadata"]["name"]
        low, high = NODE_PORT_RANGE
        if not low <= port <= high:
            raise _invalid(name, f"spec.ports[{index}].nodePort", port,
                           f"provided port is not in the valid range. The range of valid "
                           f"ports is {low}-{high}")
        if (port, protocol) in self._ports:
            raise _invalid(name, f"spec.ports[{index}].nodePort", port,
                           "provided port is already allocated")
        if not dry_run:
            self._ports.add((port, protocol))

    def _free_port(self, protocol: str) -> int:
        low, high = NODE_PORT_RANGE
        start = self._random.randrange(low, high + 1)
        for offset in range(high - low + 1):
            candidate = low + (start - low + offset) % (high - low + 1)
            if (candidate, protocol) not in self._ports:
                return candidate
        raise errors.StatusError(500, "InternalError", "failed to allocate a nodePort: "
                                 f"range {low}-{high} is full")

    def _take(self, service: Object) -> None:
        spec = service.get("spec") or {}
        for ip in spec.get("clusterIPs") or [spec.get("clusterIP")]:
            if ip and ip != "None":
                self._ips.add(ip)
        for port in spec.get("ports") or []:
            if port.get("nodePort"):
                self._ports.add((int(port["nodePort"]), port.get("protocol", "TCP")))

    def _release_unused(self, old: Object, new: Object | None) -> None:
        keep_ips: set[str] = set()
        keep_ports: set[tuple[int, str]] = set()
        if new is not None:
            spec = new.get("spec") or {}
            keep_ips = set(spec.get("clusterIPs") or [])
            keep_ports = {(int(p["nodePort"]), p.get("protocol", "TCP"))
                          for p in spec.get("ports") or [] if p.get("nodePort")}
        spec = old.get("spec") or {}
        for ip in spec.get("clusterIPs") or []:
            if ip not in keep_ips:
                self._ips.discard(ip)
        for port in spec.get("ports") or []:
            key = (int(port.get("nodePort") or 0), port.get("protocol", "TCP"))
            if key[0] and key not in keep_ports:
                self._ports.discard(key)


def _invalid(name: str, path: str, value: Any, detail: str) -> errors.StatusError:
    return errors.invalid_object("Service", name, [errors.invalid(path, value, detail)])
