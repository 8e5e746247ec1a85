"""``bridge`` pod networking: a network namespace per pod on a node bridge, through CNI.

Root only. :meth:`BridgeNetwork.ensure` installs the blackhole routes first, then the
node's bridge with its gateway (:mod:`.links`). :meth:`BridgeNetwork.setup` pins a
namespace ``/run/netns/steersman-<pod uid>`` and runs the CNI ``loopback`` and ``bridge``
plugins (host-local IPAM, :mod:`.cni`) in it; the pod's IP is what IPAM assigned.
:meth:`BridgeNetwork.teardown` runs ``DEL`` for both and deletes the namespace (its veth
goes with it). The namespace and the IPAM state (under the node's data dir) outlive the
agent, so an adopted pod keeps its namespace and address. A ``hostNetwork`` pod stays in
the node's namespace with the node's address (the bridge's ``.1``). A pod with
``hostPort``s gets the CNI ``portmap`` plugin chained after ``bridge`` (:mod:`.portmap`):
``node address:hostPort`` is DNATed to the pod; its mappings are recorded under the node's
data dir so that teardown runs portmap's ``DEL`` too, and an adopted pod keeps its rules.
:meth:`BridgeNetwork.close` removes the bridge, and the blackholes when no other node uses
them, and portmap's shared chains when steersman made them and nobody uses them, only when
no pod holds an address any more; otherwise the next agent adopts them as they are.

``net.ipv4.ip_forward`` and the bridge's ``route_localnet`` (which portmap switches on, to
DNAT the host's own 127.0.0.1; host ports are published on the node's address only, and
``route_localnet`` would open the host's loopback services to pods) are read before each
plugin call and put back if the call changed them.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
from pathlib import Path

from steersman.kubelet.addresses import PodAddressPool
from steersman.kubelet.network import cni, links, portmap
from steersman.kubelet.network.interface import Attachment, HostPort, NetworkError, PodRef

log = logging.getLogger(__name__)
NETNS_PREFIX = "steersman-"
POD_IFNAME = "eth0"


class BridgeNetwork:
    """A namespace per pod on the bridge ``bridge`` serving ``subnet`` (see the module)."""

    mode = "bridge"

    def __init__(self, *, bridge: str, subnet: ipaddress.IPv4Network, state_dir: Path,
                 cni_path: Path = cni.DEFAULT_CNI_PATH) -> None:
        if len(bridge) > 15:
            raise NetworkError(f"bridge name {bridge!r} is longer than 15 characters")
        if not subnet.subnet_of(cni.CLUSTER_CIDR) or subnet.prefixlen != 24:
            raise NetworkError(f"the bridge pod range must be a /24 inside "
                               f"{cni.CLUSTER_CIDR}, got {subnet}")
        self.spec = cni.BridgeSpec(name=f"steersman-{bridge}", bridge=bridge, subnet=subnet,
                                   ipam_dir=state_dir / "ipam")
        self.addresses = PodAddressPool(subnet)
        self._cni_path = cni_path
        self._mappings = state_dir / "portmap"  # a file per pod with host ports

    async def ensure(self) -> None:
        if os.geteuid() != 0:
            raise NetworkError("bridge networking needs root (use --network host)")
        try:
            await links.ensure_blackholes()  # before anything could route a pod address
            await links.ensure_bridge(self.spec.bridge, self.spec.subnet)
            await links.ensure_blackholes()  # a peer that stopped meanwhile took them
        except BaseException:
            await self.close()  # what this half-made node created, unless pods use it
            raise

    async def setup(self, pod: PodRef) -> Attachment:
        if pod.host_network:
            return Attachment(self.spec.gateway)  # the node's namespace and address
        ports = tuple(p.checked(self.spec.gateway) for p in pod.host_ports)
        path = links.netns_path(_netns_name(pod.uid))
        known = self.addresses.address_of(pod.uid)
        if known and path.exists():
            return Attachment(known, str(path))
        await self.teardown(pod.uid)  # a half-made namespace from an interrupted attempt
        await links.add_netns(_netns_name(pod.uid))
        try:
            ip = await self._add(pod, ports)
        except BaseException:
            await self.teardown(pod.uid)
            raise
        return Attachment(ip, str(path))

    async def _add(self, pod: PodRef, ports: tuple[HostPort, ...]) -> str:
        """CNI ADD of loopback, bridge and (with host ports) portmap in the pod's
        namespace; the address it got."""
        await self._plugin("ADD", cni.loopback_config(), pod.uid, "lo")
        result = await self._plugin("ADD", cni.bridge_config(self.spec), pod.uid, POD_IFNAME)
        ip = cni.pod_ip(result)
        if not self.addresses.claim(pod.uid, ip):
            raise NetworkError(f"IPAM gave pod {pod.namespace}/{pod.name} {ip}, outside "
                               f"{self.spec.subnet} or already held by another pod")
        if ports:
            await self._map_ports(pod.uid, ports, result)
        return ip

    async def _map_ports(self, uid: str, ports: tuple[HostPort, ...], result: cni.Object) -> None:
        config = portmap.portmap_config(self.spec.name, ports, result)
        # Recorded before ADD, so that a failed ADD still gets its DEL on teardown.
        self._mappings.mkdir(parents=True, exist_ok=True)
        (self._mappings / uid).write_text(json.dumps(config["runtimeConfig"]))
        made = not await portmap.shared_chains_exist()
        tables = await portmap.nat_tables() if made else []
        await self._plugin("ADD", config, uid, POD_IFNAME)
        if made:
            portmap.note_chains_made(tables)

    async def resume(self, pod: PodRef, pod_ip: str) -> None:
        """Nothing lives in the agent: the namespace and portmap's rules outlive it."""

    def adopt(self, uid: str, pod_ip: str) -> Attachment | None:
        if pod_ip == self.spec.gateway:
            return Attachment(pod_ip)  # a hostNetwork pod
        path = links.netns_path(_netns_name(uid))
        if not path.exists() or not self.addresses.claim(uid, pod_ip):
            return None
        return Attachment(pod_ip, str(path))

    async def teardown(self, uid: str) -> None:
        name = _netns_name(uid)
        netns = str(links.netns_path(name)) if links.netns_path(name).exists() else ""
        await self._unmap_ports(uid, netns)
        # DEL releases the IPAM address even when the namespace is already gone.
        await self._plugin("DEL", cni.bridge_config(self.spec), uid, POD_IFNAME, netns)
        if netns:
            await self._plugin("DEL", cni.loopback_config(), uid, "lo", netns)
        await links.delete_netns(name)
        self.addresses.release(uid)

    async def _unmap_ports(self, uid: str, netns: str) -> None:
        record = self._mappings / uid
        if not record.exists():
            return
        config = portmap.portmap_config(self.spec.name, (), None)
        config["runtimeConfig"] = json.loads(record.read_text())
        await self._plugin("DEL", config, uid, POD_IFNAME, netns)
        record.unlink()

    async def close(self) -> None:
        """Remove the bridge (and unused blackholes) unless a pod still holds an address."""
        if len(self.addresses) or self._reserved():
            return
        await links.delete_bridge(self.spec.bridge)
        await links.remove_unused_blackholes()
        try:
            await portmap.remove_unused_chains()
        except NetworkError as err:  # leftovers only: the node still stops cleanly
            log.warning("portmap's chains not removed: %s", err)

    def _reserved(self) -> list[str]:
        """Addresses host-local still holds (files named after the IP)."""
        directory = self.spec.ipam_dir / self.spec.name
        if not directory.is_dir():
            return []
        return [p.name for p in directory.iterdir() if _is_address(p.name)]

    async def _plugin(self, command: str, config: cni.Object, uid: str, ifname: str,
                      netns: str | None = None) -> cni.Object:
        before = links.read_ip_forward()
        localnet = links.read_route_localnet(self.spec.bridge)
        try:
            return await cni.invoke(
                command, config, container_id=uid, ifname=ifname, cni_path=self._cni_path,
                netns=str(links.netns_path(_netns_name(uid))) if netns is None else netns)
        finally:
            if links.restore_ip_forward(before) and links.link_exists(self.spec.bridge):
                links.enable_forwarding(self.spec.bridge)
            links.restore_route_localnet(self.spec.bridge, localnet)


def _netns_name(uid: str) -> str:
    return f"{NETNS_PREFIX}{uid}"


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
