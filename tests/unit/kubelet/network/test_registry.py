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


def test_a_bridge_node_takes_a_slash_24_of_the_cluster_range(tmp_path: Path) -> None:
    from steersman.kubelet.agent.config import AgentConfig

    config = AgentConfig(node_name="n1", data_dir=tmp_path, network_mode="bridge")
    assert ipaddress.IPv4Network(config.pod_cidr).subnet_of(
        ipaddress.IPv4Network("10.42.0.0/16"))
    assert config.node_ip == str(config.network.network_address + 1)
    given = AgentConfig(node_name="n1", data_dir=tmp_path, network_mode="bridge",
                        pod_cidr="10.42.77.0/24")
    assert given.pod_cidr == "10.42.77.0/24" and given.node_ip == "10.42.77.1"
    with pytest.raises(ValueError, match=r"inside 10\.42\.0\.0/16 in bridge mode"):
        AgentConfig(node_name="n1", data_dir=tmp_path, network_mode="bridge",
                    pod_cidr="127.42.1.0/24")
    with pytest.raises(ValueError, match="--network must be one of host, bridge"):
        AgentConfig(node_name="n1", data_dir=tmp_path, network_mode="overlay")
