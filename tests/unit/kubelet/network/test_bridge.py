"""What bridge networking decides from the pod spec alone, before touching the machine."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from steersman.kubelet.network import Attachment, NetworkError, PodRef
from steersman.kubelet.network.bridge import BridgeNetwork
from steersman.kubelet.network.interface import HostPort


def pod(**spec: object) -> dict[str, object]:
    return {"metadata": {"uid": "u1", "namespace": "ns", "name": "p"}, "spec": spec}


def test_a_pod_ref_reads_host_network_and_host_ports() -> None:
    ref = PodRef.of(pod(hostNetwork=True, initContainers=[{"ports": [{"hostPort": 81}]}],
                        containers=[{"ports": [
                            {"containerPort": 80},
                            {"containerPort": 53, "hostPort": 5353, "protocol": "UDP",
                             "hostIP": "10.42.9.1"}]}]))
    assert ref == PodRef("u1", "ns", "p", host_network=True, host_ports=(
        HostPort(81, 81), HostPort(5353, 53, "UDP", "10.42.9.1")))
    assert PodRef.of(pod()) == PodRef("u1", "ns", "p")


@pytest.fixture
def network(tmp_path: Path) -> BridgeNetwork:
    return BridgeNetwork(bridge="sm9-test", subnet=ipaddress.IPv4Network("10.42.9.0/24"),
                         state_dir=tmp_path)


async def test_a_host_network_pod_gets_the_node_address(network: BridgeNetwork) -> None:
    attachment = await network.setup(PodRef.of(pod(hostNetwork=True)))
    assert attachment == Attachment("10.42.9.1", None)
    assert network.adopt("u1", "10.42.9.1") == attachment
    assert len(network.addresses) == 0  # the node's address is nobody's pod IP


@pytest.mark.parametrize(("port", "message"), [
    ({"hostPort": 8080, "protocol": "SCTP"}, "only TCP and UDP host ports are supported"),
    ({"hostPort": 8080, "hostIP": "0.0.0.0"},
     "hostIP 0.0.0.0 is not supported; a host port is published on the node's address "
     "10.42.9.1"),
])
async def test_an_unsupported_host_port_is_refused_with_a_reason(
        network: BridgeNetwork, port: dict[str, object], message: str) -> None:
    with pytest.raises(NetworkError, match=message) as err:
        await network.setup(PodRef.of(pod(containers=[{"ports": [port]}])))
    assert err.value.reason == "HostPortUnsupported"


def test_a_host_port_defaults_to_the_node_address() -> None:
    port = HostPort.of({"hostPort": 8080, "containerPort": 80})
    assert port.checked("10.42.9.1") == HostPort(8080, 80, "TCP", "10.42.9.1")
    assert HostPort.of({"hostPort": 9, "hostIP": "10.42.9.1"}).checked("10.42.9.1").host_ip \
        == "10.42.9.1"


def test_adopting_a_pod_whose_namespace_is_gone_fails(network: BridgeNetwork) -> None:
    assert network.adopt("no-such-pod-uid", "10.42.9.7") is None
