"""``bridge`` pod networking with the real CNI plugins, in namespaces this test owns.

Two pods on a bridge of this test's own (a unique name and a /24 of 10.42.0.0/16 nobody
routes): each gets an address of the /24 and no default route, the blackhole routes are in
place, the host and the other pod reach a pod's HTTP server by its IP, ``ip_forward`` is
untouched, an agent restarted on the same state dir adopts the pods with their addresses,
and teardown + close leave no namespace, bridge, veth, route or IPAM reservation behind.
A pod with a ``hostPort`` is reached at the bridge's address on that port through the CNI
``portmap`` plugin; teardown removes its rules, close the shared chains this test's node
made, and the bridge's ``route_localnet`` keeps its value.
(That the runtimes run containers in a sandbox's namespace is checked for every runtime by
tests/conformance/runtime/test_runtime_netns.py.)
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from steersman.kubelet.network import NetworkError, PodRef
from steersman.kubelet.network.bridge import BridgeNetwork
from steersman.kubelet.network.cni import DEFAULT_CNI_PATH
from steersman.kubelet.network.interface import HostPort
from steersman.kubelet.network.links import (
    ROUTE_PROTOCOL,
    read_ip_forward,
    remove_unused_blackholes,
)
from steersman.kubelet.network.portmap import MARKER, SHARED_CHAINS
from tests.tools import need_tool, required_everything

T = TypeVar("T")


def need_bridge_networking() -> None:
    need_tool("ip", "apt install iproute2")
    missing = [p for p in ("bridge", "host-local", "loopback")
               if not (DEFAULT_CNI_PATH / p).exists()]
    message = ""
    if missing:
        message = f"CNI plugins {missing} missing (apt install containernetworking-plugins)"
    elif os.geteuid() != 0:
        message = "bridge networking needs root"
    if message and required_everything():
        pytest.fail(message + "; STEERSMAN_REQUIRE=all forbids skipping", pytrace=False)
    if message:
        pytest.skip(message)


def run(step: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(step)


def sh(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True, timeout=30).stdout


def free_subnet() -> ipaddress.IPv4Network:
    """A /24 of 10.42.0.0/16 no route on this machine covers yet (other than a /16)."""
    taken = {r["dst"] for r in json.loads(sh("ip", "-j", "route", "show", "root",
                                             "10.42.0.0/16") or "[]")}
    for octet in range(200, 250):
        if f"10.42.{octet}.0/24" not in taken:
            return ipaddress.IPv4Network(f"10.42.{octet}.0/24")
    raise AssertionError("no free /24 in 10.42.200.0-10.42.249.0")


SERVER = ("import http.server, sys\n"
          "http.server.ThreadingHTTPServer(('0.0.0.0', 8080), "
          "http.server.SimpleHTTPRequestHandler).serve_forever()\n")
FETCH = ("import sys, urllib.request\n"
         "print(urllib.request.urlopen(sys.argv[1], timeout=10).status)\n")


@pytest.fixture
def network(tmp_path: Path) -> Iterator[BridgeNetwork]:
    need_bridge_networking()
    net = BridgeNetwork(bridge=f"smt-{uuid.uuid4().hex[:8]}", subnet=free_subnet(),
                        state_dir=tmp_path / "net")
    yield net
    # Whatever the test left: by name, ours only (IPAM files hold the pod UIDs).
    for held in (tmp_path / "net" / "ipam").rglob("10.42.*"):
        uid = held.read_text().split()[0]
        subprocess.run(["ip", "netns", "del", f"steersman-{uid}"], capture_output=True)
    subprocess.run(["ip", "link", "del", net.spec.bridge], capture_output=True)
    run(remove_unused_blackholes())  # ours, unless a node bridge still needs them


def pods() -> list[PodRef]:
    return [PodRef(uid=str(uuid.uuid4()), namespace="default", name=f"web-{i}") for i in (0, 1)]


def serve_in(netns: str) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(["ip", "netns", "exec", netns, sys.executable, "-c", SERVER],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    probe = "import socket; socket.create_connection(('127.0.0.1', 8080), 1)"
    for _ in range(100):  # until it listens; no clock involved, at most 100 tries
        if subprocess.run(["ip", "netns", "exec", netns, sys.executable, "-c", probe],
                          capture_output=True).returncode == 0:
            return server
    server.kill()
    raise AssertionError("the pod's HTTP server never listened")


def test_two_pods_on_a_bridge(network: BridgeNetwork, tmp_path: Path) -> None:
    forward_before = read_ip_forward()
    run(network.ensure())
    routes = sh("ip", "route", "show", "type", "blackhole")
    assert "10.42.0.0/16" in routes and "10.43.0.0/16" in routes
    first, second = pods()
    a, b = run(network.setup(first)), run(network.setup(second))
    assert a.netns_path and b.netns_path and a.pod_ip != b.pod_ip
    assert {ipaddress.IPv4Address(a.pod_ip), ipaddress.IPv4Address(b.pod_ip)} < set(
        network.spec.subnet.hosts())
    netns_a = Path(a.netns_path).name
    assert "default" not in sh("ip", "-n", netns_a, "route")
    assert read_ip_forward() == forward_before

    server = serve_in(netns_a)
    try:
        with urllib.request.urlopen(f"http://{a.pod_ip}:8080/", timeout=10) as answer:
            assert answer.status == 200
        out = sh("ip", "netns", "exec", Path(b.netns_path).name, sys.executable, "-c", FETCH,
                 f"http://{a.pod_ip}:8080/")
        assert out.strip() == "200"
    finally:
        server.kill()
        server.wait()

    restarted = BridgeNetwork(bridge=network.spec.bridge, subnet=network.spec.subnet,
                              state_dir=tmp_path / "net")
    run(restarted.ensure())
    assert restarted.adopt(first.uid, a.pod_ip) == a
    assert restarted.adopt(second.uid, b.pod_ip) == b
    assert run(restarted.setup(first)) == a  # same namespace, same address
    run(restarted.close())  # pods hold addresses: the bridge stays
    assert Path("/sys/class/net", network.spec.bridge).exists()

    for pod in (first, second):
        run(restarted.teardown(pod.uid))
    assert not Path(a.netns_path).exists() and not Path(b.netns_path).exists()
    run(restarted.close())
    assert not Path("/sys/class/net", network.spec.bridge).exists()
    assert str(network.spec.subnet) not in sh("ip", "route")
    assert not [p for p in (tmp_path / "net" / "ipam").rglob("10.42.*")]
    ours = sh("ip", "route", "show", "proto", ROUTE_PROTOCOL)
    others = [r for r in json.loads(sh("ip", "-j", "route", "show", "root", "10.42.0.0/16"))
              if r.get("type") != "blackhole"]
    assert others or not ours, "our blackholes outlived the last node bridge"
    assert read_ip_forward() == forward_before


def test_a_failing_plugin_is_a_clear_error(network: BridgeNetwork, tmp_path: Path) -> None:
    broken = BridgeNetwork(bridge=network.spec.bridge, subnet=network.spec.subnet,
                           state_dir=tmp_path / "net", cni_path=tmp_path / "no-plugins")
    run(broken.ensure())
    pod = pods()[0]
    with pytest.raises(NetworkError, match="CNI plugin 'bridge' not found"):
        run(broken.setup(pod))
    assert not Path(f"/run/netns/steersman-{pod.uid}").exists()
    run(network.close())
    assert not Path("/sys/class/net", network.spec.bridge).exists()



def test_a_pod_range_taken_by_another_node_is_refused(network: BridgeNetwork,
                                                      tmp_path: Path) -> None:
    run(network.ensure())
    rival = BridgeNetwork(bridge=f"smt-{uuid.uuid4().hex[:8]}", subnet=network.spec.subnet,
                          state_dir=tmp_path / "rival")
    with pytest.raises(NetworkError, match=f"already routed to {network.spec.bridge}"):
        run(rival.ensure())
    assert not Path("/sys/class/net", rival.spec.bridge).exists()
    run(network.close())


def _nat_rules() -> str:
    return sh("iptables", "-w", "-t", "nat", "-S")


def _free_port(address: str) -> int:
    """A port nothing on the machine listens on (the DNAT only matches ``address``)."""
    listening = sh("ss", "-Htanl") + sh("ss", "-Huanl")
    for port in range(41000, 41999):
        if f":{port} " not in listening:
            return port
    raise AssertionError(f"no free port for {address}")


def test_a_host_port_reaches_the_pod_through_portmap(network: BridgeNetwork) -> None:
    need_tool("iptables", "apt install iptables (the CNI portmap plugin)")
    chains_before = SHARED_CHAINS[0] in _nat_rules()
    tables_before = sh("nft", "list", "tables")
    run(network.ensure())
    port = _free_port(network.spec.gateway)
    pod = PodRef(uid=str(uuid.uuid4()), namespace="default", name="hostport",
                 host_ports=(HostPort(host_port=port, container_port=8080),))
    localnet = Path(f"/proc/sys/net/ipv4/conf/{network.spec.bridge}/route_localnet")
    attachment = run(network.setup(pod))
    assert attachment.netns_path
    assert localnet.read_text().strip() == "0"  # portmap switched it on; we put it back
    rules = _nat_rules()
    assert f"-d {network.spec.gateway}/32 -p tcp -m tcp --dport {port}" in rules, rules
    assert f"--to-destination {attachment.pod_ip}:8080" in rules, rules
    server = serve_in(Path(attachment.netns_path).name)
    try:
        with urllib.request.urlopen(f"http://{network.spec.gateway}:{port}/",
                                    timeout=10) as answer:
            assert answer.status == 200
    finally:
        server.kill()
        server.wait()
    run(network.teardown(pod.uid))
    assert attachment.pod_ip not in _nat_rules()
    run(network.close())
    if not chains_before:  # ours: gone with the last pod that used them
        assert "CNI-HOSTPORT" not in _nat_rules()
        assert not MARKER.exists()
        assert sh("nft", "list", "tables") == tables_before  # nor iptables-nft's nat tables
