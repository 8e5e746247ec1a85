"""``host`` pod networking: pods share the node's namespace, each with a loopback IP.

The default. A pod's IP is the lowest free address of the node's loopback /24
(``127.42.<node>.<n>``, :class:`~steersman.kubelet.addresses.PodAddressPool`), so
replicas that bind ``$(POD_IP)`` run side by side; a process that binds 0.0.0.0 shares the
node's ports. A container port with a ``hostPort`` is relayed from the node's address (the
/24's ``.1``) to the pod's IP by :class:`~.port_forwards.PortForwards`, opened with the
pod's address (a port that cannot be bound fails the pod's set-up with a clear reason),
opened again by :meth:`HostNetwork.resume` for a pod an earlier agent started, and closed
on teardown; :meth:`HostNetwork.close` closes them all (the pods keep running, and the next
agent opens them again). Nothing is created on the machine.
"""

from __future__ import annotations

from steersman.kubelet.addresses import PodAddressPool
from steersman.kubelet.network.interface import Attachment, HostPort, NetworkError, PodRef
from steersman.kubelet.network.port_forwards import PortForwards


class HostNetwork:
    """Loopback pod IPs in the node's own network namespace."""

    mode = "host"

    def __init__(self, addresses: PodAddressPool, *, node_ip: str) -> None:
        self.addresses = addresses
        self.node_ip = node_ip
        self.forwards = PortForwards()

    async def ensure(self) -> None:
        """Nothing to prepare: pods use the node's namespace."""

    async def setup(self, pod: PodRef) -> Attachment:
        ports = self._ports(pod)
        ip = self.addresses.allocate(pod.uid)
        if ip is None:
            raise NetworkError("no pod IP left on this node", reason="PodIPExhausted")
        try:
            await self.forwards.open(pod.uid, ip, ports)
        except NetworkError:
            self.addresses.release(pod.uid)
            raise
        return Attachment(ip)

    def adopt(self, uid: str, pod_ip: str) -> Attachment | None:
        return Attachment(pod_ip) if self.addresses.claim(uid, pod_ip) else None

    async def resume(self, pod: PodRef, pod_ip: str) -> None:
        ports = self._ports(pod)
        if ports and not self.forwards.forwarding(pod.uid):
            await self.forwards.open(pod.uid, pod_ip, ports)

    def _ports(self, pod: PodRef) -> tuple[HostPort, ...]:
        """The ports to relay: none for a ``hostNetwork`` pod, which binds them itself."""
        if pod.host_network:
            return ()
        return tuple(p.checked(self.node_ip) for p in pod.host_ports)

    async def teardown(self, uid: str) -> None:
        await self.forwards.close(uid)
        self.addresses.release(uid)

    async def close(self) -> None:
        """Close the host-port listeners; the pods and their addresses stay."""
        await self.forwards.close_all()
