"""The pod network protocol: how a node gives each pod its address and its namespace.

A :class:`PodNetwork` is the node agent's one view of pod networking (issue #4). The agent
calls :meth:`~PodNetwork.ensure` once before it runs pods (node-level state: a bridge,
routes), :meth:`~PodNetwork.setup` before it creates a pod's sandbox (the pod's address and,
in a namespaced mode, the path of its network namespace, which the runtime joins),
:meth:`~PodNetwork.adopt` for a pod that already runs when the agent starts (it keeps its
address), :meth:`~PodNetwork.resume` on every sync of a pod whose sandbox is up (what of its
network lives in the agent process — host mode's ``hostPort`` forwarders — comes back for
a pod an earlier agent started), :meth:`~PodNetwork.teardown` after the pod's sandbox is
removed, and
:meth:`~PodNetwork.close` on a clean shutdown (node-level state goes only when no pod
network is left: running pods outlive the agent and are adopted by the next one).

``addresses`` is the node's book of which pod holds which IP (a
:class:`~steersman.kubelet.addresses.PodAddressPool`), read by the streaming server and the
agent's adoption. Implementations: :mod:`.host` (the node's namespace, loopback pod IPs)
and :mod:`.bridge` (a namespace per pod on a node bridge, through the CNI plugins);
:mod:`.registry` builds one by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from steersman.kubelet.addresses import PodAddressPool

NETWORK_MODES = ("host", "bridge")


class NetworkError(Exception):
    """Pod networking could not be set up or torn down; the message says what failed and
    ``reason`` is the one word a pod's waiting state shows."""

    def __init__(self, message: str, *, reason: str = "PodNetworkError") -> None:
        super().__init__(message)
        self.reason = reason


PROTOCOLS = ("TCP", "UDP")


@dataclass(frozen=True, slots=True)
class HostPort:
    """One ``ports[]`` entry with a ``hostPort``: ``host_ip:host_port`` reaches the pod's
    ``container_port`` (``host_ip`` empty: the node's address)."""

    host_port: int
    container_port: int
    protocol: str = "TCP"
    host_ip: str = ""

    def __str__(self) -> str:
        return f"{self.host_port}/{self.protocol}"

    @classmethod
    def of(cls, port: Mapping[str, Any]) -> HostPort:
        host_port = int(port["hostPort"])
        return cls(host_port=host_port,
                   container_port=int(port.get("containerPort") or host_port),
                   protocol=str(port.get("protocol") or "TCP"),
                   host_ip=str(port.get("hostIP") or ""))

    def checked(self, node_ip: str) -> HostPort:
        """This port on ``node_ip``, or :class:`NetworkError` for what is not supported: a
        protocol but TCP and UDP, or a ``hostIP`` other than the node's address."""
        if self.protocol not in PROTOCOLS:
            raise NetworkError(f"hostPort {self}: only TCP and UDP host ports are supported",
                               reason="HostPortUnsupported")
        if self.host_ip not in ("", node_ip):
            raise NetworkError(f"hostPort {self}: hostIP {self.host_ip} is not supported; a "
                               f"host port is published on the node's address {node_ip} "
                               "(leave hostIP empty)", reason="HostPortUnsupported")
        return HostPort(self.host_port, self.container_port, self.protocol, node_ip)


@dataclass(frozen=True, slots=True)
class PodRef:
    """The pod a network is set up for, and what of its spec networking honours."""

    uid: str
    namespace: str
    name: str
    host_network: bool = False  # spec.hostNetwork: the node's namespace and address
    host_ports: tuple[HostPort, ...] = ()  # containers' ports[] with a hostPort

    @classmethod
    def of(cls, pod: Mapping[str, Any]) -> PodRef:
        metadata, spec = pod["metadata"], pod.get("spec") or {}
        containers = [*(spec.get("initContainers") or ()), *(spec.get("containers") or ())]
        ports = tuple(HostPort.of(p) for c in containers for p in c.get("ports") or ()
                      if p.get("hostPort"))
        return cls(uid=str(metadata["uid"]), namespace=str(metadata.get("namespace") or ""),
                   name=str(metadata["name"]), host_network=bool(spec.get("hostNetwork")),
                   host_ports=ports)


@dataclass(frozen=True, slots=True)
class Attachment:
    """A pod's place on the network: its IP and its namespace (``None``: the node's)."""

    pod_ip: str
    netns_path: str | None = None


class PodNetwork(Protocol):
    """Pod networking of one node (see the module docstring)."""

    mode: str
    addresses: PodAddressPool

    async def ensure(self) -> None: ...

    async def setup(self, pod: PodRef) -> Attachment: ...

    def adopt(self, uid: str, pod_ip: str) -> Attachment | None:
        """The attachment of a pod that already runs (None: it is not ours or is gone)."""
        ...

    async def resume(self, pod: PodRef, pod_ip: str) -> None:
        """Make sure what of a running pod's network lives in this process is in place."""
        ...

    async def teardown(self, uid: str) -> None: ...

    async def close(self) -> None: ...
