"""What one node agent is: :class:`AgentConfig`, the machine's resources and the pod range.

Capacity defaults to the machine's (CPUs, ``MemTotal``, the data dir's disk) and each
``--cpu/--memory/--pods`` flag overrides one value. In host network mode the node owns a
/24 of 127.42.0.0/16 (``--pod-cidr``; by default one derived from the node name in the
upper half, 127.42.128.0 to 127.42.255.0, so it does not meet the hollow nodes' blocks,
which count up from 127.42.0.0): the node's address is its ``.1``, pods get ``.2`` to ``.254``.
In ``bridge`` network mode (``network_mode``, :mod:`steersman.kubelet.network`) the /24 is
inside 10.42.0.0/16 instead (by default ``10.42.<hash of the name>.0/24``) and the node's
address, its ``.1``, is the gateway address of the node's pod bridge.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from steersman.api.quantity import canonical_quantity
from steersman.kubelet.network import NETWORK_MODES

_LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")
_BRIDGED = ipaddress.IPv4Network("10.42.0.0/16")
MAX_PODS = 253


@dataclass(frozen=True)
class AgentConfig:
    """One node agent's identity, resources and timing."""

    node_name: str
    data_dir: Path
    pod_cidr: str = ""
    cpu: str = ""
    memory: str = ""
    pods: int = 110
    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    taints: tuple[Mapping[str, str], ...] = ()
    lease_duration_seconds: int = 40
    lease_interval: float = 10.0
    status_interval: float = 60.0
    resync_interval: float = 1.0
    volume_resync_interval: float = 10.0
    # The HTTPS server the API server proxies logs, exec, attach and port-forward to, on
    # node_ip: its port (0: any free one; published as status.daemonEndpoints), whether a
    # taken port gives way to any free one, its serving certificate and the CA that signs
    # the clients it accepts (the API server's kubelet-client certificate).
    port: int = 10250
    any_port_if_taken: bool = False
    serving_cert_file: Path | None = None
    serving_key_file: Path | None = None
    client_ca_file: Path | None = None
    network_mode: str = "host"  # or "bridge": see steersman.kubelet.network
    # The nameserver of the resolv.conf given to pods with their own network namespace
    # (the kube-dns ClusterIP, kubelet's --cluster-dns); "": they get none (.resolv).
    cluster_dns: str = ""
    cluster_domain: str = "cluster.local"

    def __post_init__(self) -> None:
        if not 1 <= self.pods <= MAX_PODS:
            raise ValueError(f"--pods must be between 1 and {MAX_PODS}, got {self.pods}")
        _check_serving(self)
        if self.cluster_dns:
            try:
                ipaddress.IPv4Address(self.cluster_dns)
            except ValueError as err:
                raise ValueError(f"--cluster-dns: {self.cluster_dns!r} is not an IPv4 "
                                 "address") from err
        if self.network_mode not in NETWORK_MODES:
            raise ValueError(f"--network must be one of {', '.join(NETWORK_MODES)}, "
                             f"got {self.network_mode!r}")
        object.__setattr__(self, "pod_cidr", str(pod_network(self.pod_cidr, self.node_name,
                                                             self.network_mode)))
        object.__setattr__(self, "cpu", canonical_quantity(self.cpu or str(os.cpu_count() or 1)))
        object.__setattr__(self, "memory", canonical_quantity(self.memory or machine_memory()))

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.pod_cidr)

    @property
    def node_ip(self) -> str:
        return str(self.network.network_address + 1)

    def capacity(self) -> dict[str, str]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        disk = shutil.disk_usage(self.data_dir).total
        return {"cpu": self.cpu, "memory": self.memory, "pods": str(self.pods),
                "ephemeral-storage": canonical_quantity(str(disk)),
                "hugepages-1Gi": "0", "hugepages-2Mi": "0"}


def _check_serving(config: AgentConfig) -> None:
    if not 0 <= config.port <= 65535:
        raise ValueError(f"--port must be between 0 and 65535, got {config.port}")
    given = {"--tls-cert-file": config.serving_cert_file,
             "--tls-private-key-file": config.serving_key_file,
             "--client-ca-file": config.client_ca_file}
    missing = [flag for flag, path in given.items() if path is None]
    if missing and len(missing) < len(given):
        raise ValueError(f"{', '.join(missing)} missing: serving logs, exec and port-forward "
                         "needs a certificate, its key and the CA of the clients it accepts")
    for flag, path in given.items():
        if path is not None and not path.is_file():
            raise ValueError(f"{flag}: {path} is not a readable file")


def pod_network(text: str, node_name: str, mode: str = "host") -> ipaddress.IPv4Network:
    """The node's pod /24: ``text`` if given (inside 127/8, or 10.42/16 in bridge mode),
    else one from the name."""
    if mode == "bridge":
        return _bridged_network(text, node_name)
    if not text:
        return ipaddress.IPv4Network(f"127.42.{128 + zlib.crc32(node_name.encode()) % 128}.0/24")
    try:
        network = ipaddress.IPv4Network(text)
    except ValueError as err:
        raise ValueError(f"--pod-cidr: {text!r} is not a network: {err}") from err
    if network.prefixlen != 24 or not network.subnet_of(_LOOPBACK):
        raise ValueError(f"--pod-cidr must be a /24 inside 127.0.0.0/8, got {text}")
    return network


def _bridged_network(text: str, node_name: str) -> ipaddress.IPv4Network:
    if not text:
        return ipaddress.IPv4Network(f"10.42.{zlib.crc32(node_name.encode()) % 256}.0/24")
    try:
        network = ipaddress.IPv4Network(text)
    except ValueError as err:
        raise ValueError(f"--pod-cidr: {text!r} is not a network: {err}") from err
    if network.prefixlen != 24 or not network.subnet_of(_BRIDGED):
        raise ValueError(f"--pod-cidr must be a /24 inside {_BRIDGED} in bridge mode, got {text}")
    return network


def machine_memory() -> str:
    """``MemTotal`` of /proc/meminfo as a quantity (``16384000Ki``)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{line.split()[1]}Ki"
    except OSError:
        pass
    return "1Gi"
