"""Building a node's pod network by mode; the host mode's address book."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from steersman.kubelet.network import NetworkError, PodRef, new_pod_network
from steersman.kubelet.network.bridge import BridgeNetwork
from steersman.kubelet.network.host import HostNetwork
from steersman.kubelet.network.registry import bridge_name

LOOPBACK = ipaddress.IPv4Network("127.42.200.0/24")
BRIDGED = ipaddress.IPv4Network("10.42.200.0/24")


async def test_host_network_hands_out_loopback_addresses(tmp_path: Path) -> None:
    network = new_pod_network("host", subnet=LOOPBACK, state_dir=tmp_path)
    assert isinstance(network, HostNetwork)
    await network.ensure()
    a = await network.setup(PodRef("uid-a", "default", "a"))
    assert a.pod_ip == "127.42.200.2" and a.netns_path is None
    assert await network.setup(PodRef("uid-a", "default", "a")) == a
    assert network.adopt("uid-b", "127.42.200.9") is not None
    assert network.adopt("uid-c", "127.42.200.9") is None  # held by uid-b
    await network.teardown("uid-a")
    assert network.addresses.address_of("uid-a") is None
    await network.close()


def test_bridge_names_fit_a_link_name_and_follow_the_state_dir(tmp_path: Path) -> None:
    name = bridge_name(BRIDGED, tmp_path / "node-a")
    assert name.startswith("sm200-") and len(name) <= 15
    assert name == bridge_name(BRIDGED, tmp_path / "node-a")
    assert name != bridge_name(BRIDGED, tmp_path / "node-b")
    network = new_pod_network("bridge", subnet=BRIDGED, state_dir=tmp_path / "node-a")
    assert isinstance(network, BridgeNetwork) and network.spec.bridge == name


def test_bridge_mode_needs_a_cluster_range_and_a_short_name(tmp_path: Path) -> None:
    with pytest.raises(NetworkError, match=r"/24 inside 10.42.0.0/16"):
        new_pod_network("bridge", subnet=LOOPBACK, state_dir=tmp_path)
    with pytest.raises(NetworkError, match="longer than 15"):
        BridgeNetwork(bridge="a-very-long-bridge", subnet=BRIDGED, state_dir=tmp_path)


def test_an_unknown_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown network mode 'overlay'"):
        new_pod_network("overlay", subnet=LOOPBACK, state_dir=tmp_path)
