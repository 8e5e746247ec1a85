"""``host`` pod networking: pods share the node's namespace, each with a loopback IP.

The default. A pod's IP is the lowest free address of the node's loopback /24
(``127.42.<node>.<n>``, :class:`~steersman.kubelet.addresses.PodAddressPool`), so
replicas that bind ``$(POD_IP)`` run side by side; a process that binds 0.0.0.0 shares the
node's ports. Nothing is created on the machine, so :meth:`HostNetwork.ensure` and
:meth:`HostNetwork.close` do nothing.
"""

from __future__ import annotations

from steersman.kubelet.addresses import PodAddressPool
from steersman.kubelet.network.interface import Attachment, NetworkError, PodRef


class HostNetwork:
    """Loopback pod IPs in the node's own network namespace."""

    mode = "host"

    def __init__(self, addresses: PodAddressPool) -> None:
        self.addresses = addresses

    async def ensure(self) -> None:
        """Nothing to prepare: pods use the node's namespace."""

    async def setup(self, pod: PodRef) -> Attachment:
        ip = self.addresses.allocate(pod.uid)
        if ip is None:
            raise NetworkError("no pod IP left on this node", reason="PodIPExhausted")
        return Attachment(ip)

    def adopt(self, uid: str, pod_ip: str) -> Attachment | None:
        return Attachment(pod_ip) if self.addresses.claim(uid, pod_ip) else None

    async def teardown(self, uid: str) -> None:
        self.addresses.release(uid)

    async def close(self) -> None:
        """Nothing was created."""
