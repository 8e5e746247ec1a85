"""Builds a node's :class:`~.interface.PodNetwork` by mode name (``--network``).

The one place the implementations are wired. ``host`` needs nothing; ``bridge`` names the
node's bridge after its /24 and its state directory (``sm<third octet>-<hash>``, at most
15 characters), so an agent restarted on the same data dir finds its bridge again, while
another cluster's node given the same /24 gets a different bridge and a clear error.
"""

from __future__ import annotations

import ipaddress
import zlib
from pathlib import Path

from steersman.kubelet.addresses import PodAddressPool
from steersman.kubelet.network.bridge import BridgeNetwork
from steersman.kubelet.network.cni import DEFAULT_CNI_PATH
from steersman.kubelet.network.host import HostNetwork
from steersman.kubelet.network.interface import NETWORK_MODES, PodNetwork


def new_pod_network(mode: str, *, subnet: ipaddress.IPv4Network, state_dir: Path,
                    cni_path: Path = DEFAULT_CNI_PATH) -> PodNetwork:
    """The pod network ``mode`` of a node whose pods use ``subnet``."""
    if mode == "host":
        return HostNetwork(PodAddressPool(subnet), node_ip=str(subnet.network_address + 1))
    if mode == "bridge":
        return BridgeNetwork(bridge=bridge_name(subnet, state_dir), subnet=subnet,
                             state_dir=state_dir, cni_path=cni_path)
    raise ValueError(f"unknown network mode {mode!r}; expected one of {', '.join(NETWORK_MODES)}")


def bridge_name(subnet: ipaddress.IPv4Network, state_dir: Path) -> str:
    octet = subnet.network_address.packed[2]
    return f"sm{octet}-{zlib.crc32(str(state_dir.resolve()).encode()) & 0xFFFF:04x}"
