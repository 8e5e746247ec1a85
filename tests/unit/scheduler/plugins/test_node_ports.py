"""NodePorts: host port conflicts, by IP and protocol."""

from typing import Any

import pytest

from steersman.scheduler.plugins import node_ports
from tests.unit.scheduler.fixtures import cluster, filter_all, make_node, make_pod


def port(host_port: int, ip: str = "", protocol: str = "TCP") -> dict[str, Any]:
    return {"containerPort": 80, "hostPort": host_port, "hostIP": ip, "protocol": protocol}


@pytest.mark.parametrize(("name", "used", "wanted", "fits"), [
    ("nothing used", [], [port(80)], True),
    ("same port", [port(80)], [port(80)], False),
    ("other port", [port(80)], [port(81)], True),
    ("other protocol", [port(80)], [port(80, protocol="UDP")], True),
    ("different IPs", [port(80, "10.0.0.1")], [port(80, "10.0.0.2")], True),
    ("same IP", [port(80, "10.0.0.1")], [port(80, "10.0.0.1")], False),
    ("wildcard wanted", [port(80, "10.0.0.1")], [port(80)], False),
    ("wildcard used", [port(80)], [port(80, "10.0.0.1")], False),
])
def test_ports(name: str, used: list[dict[str, Any]], wanted: list[dict[str, Any]],
               fits: bool) -> None:
    existing = [make_pod("old", node_name="n1", ports=used)] if used else []
    cache = cluster([make_node("n1")], existing)
    status = filter_all(node_ports.new({}, None), cache,  # type: ignore[arg-type]
                        make_pod("p", ports=wanted))["n1"]
    assert status.is_success is fits, name
    if not fits:
        assert status.reasons == (node_ports.ERR_REASON,)
