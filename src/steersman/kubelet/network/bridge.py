"""``bridge`` pod networking: a network namespace per pod on a node bridge, through CNI.

Root only. :meth:`BridgeNetwork.ensure` installs the blackhole routes first, then the
node's bridge with its gateway (:mod:`.links`). :meth:`BridgeNetwork.setup` pins a
namespace ``/run/netns/steersman-<pod uid>`` and runs the CNI ``loopback`` and ``bridge``
plugins (host-local IPAM, :mod:`.cni`) in it; the pod's IP is what IPAM assigned.
:meth:`BridgeNetwork.teardown` runs ``DEL`` for both and deletes the namespace (its veth
goes with it). The namespace and the IPAM state (under the node's data dir) outlive the
agent, so an adopted pod keeps its namespace and address. A ``hostNetwork`` pod stays in
the node's namespace with the node's address (the bridge's ``.1``); a pod asking for a
``hostPort`` is refused with a clear reason (the CNI portmap plugin is not wired yet).
:meth:`BridgeNetwork.close` removes the bridge, and the blackholes when no other node uses
them, only when no pod holds an address any more; otherwise the next agent adopts them as
they are.

``net.ipv4.ip_forward`` is read before each plugin call and put back if the call changed
it; the configuration does not ask the plugin to change it.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from steersman.kubelet.addresses import PodAddressPool
from steersman.kubelet.network import cni, links
from steersman.kubelet.network.interface import Attachment, NetworkError, PodRef

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
        if pod.host_ports:
            raise NetworkError(f"hostPort {', '.join(map(str, pod.host_ports))}: host ports "
                               "are not supported by bridge networking yet",
                               reason="HostPortUnsupported")
        path = links.netns_path(_netns_name(pod.uid))
        known = self.addresses.address_of(pod.uid)
        if known and path.exists():
            return Attachment(known, str(path))
        await self.teardown(pod.uid)  # a half-made namespace from an interrupted attempt
        await links.add_netns(_netns_name(pod.uid))
        try:
            ip = await self._add(pod)
        except BaseException:
            await self.teardown(pod.uid)
            raise
        return Attachment(ip, str(path))

    async def _add(self, pod: PodRef) -> str:
        """CNI ADD of loopback and bridge in the pod's namespace; the address it got."""
        await self._plugin("ADD", cni.loopback_config(), pod.uid, "lo")
        result = await self._plugin("ADD", cni.bridge_config(self.spec), pod.uid, POD_IFNAME)
        ip = cni.pod_ip(result)
        if not self.addresses.claim(pod.uid, ip):
            raise NetworkError(f"IPAM gave pod {pod.namespace}/{pod.name} {ip}, outside "
                               f"{self.spec.subnet} or already held by another pod")
        return ip

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
        # DEL releases the IPAM address even when the namespace is already gone.
        await self._plugin("DEL", cni.bridge_config(self.spec), uid, POD_IFNAME, netns)
        if netns:
            await self._plugin("DEL", cni.loopback_config(), uid, "lo", netns)
        await links.delete_netns(name)
        self.addresses.release(uid)

    async def close(self) -> None:
        """Remove the bridge (and unused blackholes) unless a pod still holds an address."""
        if len(self.addresses) or self._reserved():
            return
        await links.delete_bridge(self.spec.bridge)
        await links.remove_unused_blackholes()

    def _reserved(self) -> list[str]:
        """Addresses host-local still holds (files named after the IP)."""
        directory = self.spec.ipam_dir / self.spec.name
        if not directory.is_dir():
            return []
        return [p.name for p in directory.iterdir() if _is_address(p.name)]

    async def _plugin(self, command: str, config: cni.Object, uid: str, ifname: str,
                      netns: str | None = None) -> cni.Object:
        before = links.read_ip_forward()
        try:
            return await cni.invoke(
                command, config, container_id=uid, ifname=ifname, cni_path=self._cni_path,
                netns=str(links.netns_path(_netns_name(uid))) if netns is None else netns)
        finally:
            if links.restore_ip_forward(before) and links.link_exists(self.spec.bridge):
                links.enable_forwarding(self.spec.bridge)


def _netns_name(uid: str) -> str:
    return f"{NETNS_PREFIX}{uid}"


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
