"""The CNI portmap plugin's configuration (no plugin runs: tests/integration runs it)."""

from __future__ import annotations

from steersman.kubelet.network.interface import HostPort
from steersman.kubelet.network.portmap import portmap_config

PREV = {"cniVersion": "1.0.0", "ips": [{"address": "10.42.7.5/24"}]}


def test_portmap_is_chained_after_bridge_with_the_pods_mappings() -> None:
    ports = (HostPort(8080, 80, "TCP", "10.42.7.1"), HostPort(5353, 53, "UDP", "10.42.7.1"))
    config = portmap_config("steersman-sm7-ab12", ports, PREV)
    assert config["type"] == "portmap" and config["cniVersion"] == "1.0.0"
    # The same network name as the bridge's: portmap names its per-pod chain after it.
    assert config["name"] == "steersman-sm7-ab12"
    assert config["capabilities"] == {"portMappings": True} and config["snat"] is True
    assert config["prevResult"] is PREV
    assert config["runtimeConfig"] == {"portMappings": [
        {"hostPort": 8080, "containerPort": 80, "protocol": "tcp", "hostIP": "10.42.7.1"},
        {"hostPort": 5353, "containerPort": 53, "protocol": "udp", "hostIP": "10.42.7.1"}]}


def test_the_del_configuration_has_no_previous_result() -> None:
    config = portmap_config("steersman-sm7-ab12", (), None)
    assert "prevResult" not in config and config["runtimeConfig"] == {"portMappings": []}
