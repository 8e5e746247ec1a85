"""The nftables backend: the ruleset it renders, and real DNAT between network namespaces.

The namespace test builds a small world of its own and tears it down: a client namespace
and a server namespace (two HTTP servers on 10.42.2.2 and 10.42.2.3), each joined by a
veth pair to a "node" namespace that forwards between them and holds the proxy's table.
The client has routes only to the node (no default route anywhere), so nothing can leave.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest

from steersman.proxy.model import Endpoint, Frontend, ProxyTable, Route, ServiceRef
from steersman.proxy.nftables import NftablesBackend, render_ruleset, table_name
from tests.tools import need_tool, required_everything

REF = ServiceRef("ns", "web", "uid", "http")
SERVERS = (Endpoint("10.42.2.2", 8080, "n1"), Endpoint("10.42.2.3", 8080, "n1"))
CLUSTER_IP, NODE_IP, LB_IP = "10.43.0.5", "10.42.1.1", "10.44.0.9"


def route(name: str, kind: str, *endpoints: Endpoint, protocol: str = "TCP",
          **kwargs: object) -> Route:
    return Route(name=name, service=REF, kind=kind, protocol=protocol,
                 endpoints=tuple(endpoints), **kwargs)  # type: ignore[arg-type]


def test_ruleset_replaces_its_table_atomically() -> None:
    table = ProxyTable({
        Frontend("TCP", CLUSTER_IP, 80): route("a", "cluster-ip", *SERVERS),
        Frontend("UDP", "10.43.0.6", 53): route("b", "cluster-ip", protocol="UDP"),
        Frontend("TCP", LB_IP, 80): route(
            "c", "load-balancer", SERVERS[0], affinity_seconds=60,
            source_ranges=(ipaddress.IPv4Network("10.42.1.0/24"),))})
    text = render_ruleset("steersman-n1", table)
    assert text.startswith("table ip steersman-n1\ndelete table ip steersman-n1\n")
    assert f"ip daddr {CLUSTER_IP} tcp dport 80 jump svc-" in text
    assert "numgen random mod 2 vmap" in text and "dnat to 10.42.2.3:8080" in text
    assert "udp dport 53 reject with icmp type port-unreachable" in text
    assert f"ip daddr {LB_IP} tcp dport 80 ip saddr != {{ 10.42.1.0/24 }} drop" in text
    assert "flags dynamic,timeout; timeout 60s;" in text and "update @" in text
    # Hairpin: only DNAT'd traffic between neighbours of one /24 is masqueraded.
    assert "ct status dnat ip saddr 10.42.2.0/24 ip daddr 10.42.2.0/24 masquerade" in text
    assert text.count("masquerade") == 1
    outside = ProxyTable({Frontend("UDP", "10.43.0.10", 53): route(
        "d", "cluster-ip", Endpoint("10.43.0.53", 53), protocol="UDP")})
    assert "masquerade" not in render_ruleset("steersman-n1", outside)
    assert table_name("node.a/b c") == "steersman-node-a-b-c"


def need_root_tools() -> None:
    for tool in ("nft", "ip"):
        need_tool(tool, "the nftables backend is tested in network namespaces")
    if os.geteuid() != 0:
        message = "network namespaces and nftables need root"
        if required_everything():
            pytest.fail(message + "; STEERSMAN_REQUIRE=all forbids skipping", pytrace=False)
        pytest.skip(message)


def sh(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, timeout=30)


SERVER = """
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = sys.argv[1].encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.HTTPServer((sys.argv[1], 8080), H).serve_forever()
"""

CLIENT = """
import json, sys, urllib.request
out = []
for _ in range(int(sys.argv[2])):
    try:
        out.append(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode())
    except OSError as err:
        out.append(type(getattr(err, "reason", err)).__name__)
print(json.dumps(out))
"""


class World:
    """Three namespaces (client, node, server) and the servers' PIDs."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:6]
        self.client, self.node, self.server = (f"sm-{tag}-{r}" for r in ("c", "n", "s"))
        self.pids: list[subprocess.Popen[bytes]] = []

    def build(self) -> None:
        for ns in (self.client, self.node, self.server):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        self._link(self.client, "10.42.1.2/24", NODE_IP + "/24")
        self._link(self.server, "10.42.2.2/24", "10.42.2.1/24")
        sh("ip", "-n", self.server, "addr", "add", "10.42.2.3/24", "dev", "eth0")
        for prefix in ("10.43.0.0/16", "10.44.0.0/16", "10.42.2.0/24"):
            sh("ip", "-n", self.client, "route", "add", prefix, "via", NODE_IP)
        sh("ip", "-n", self.server, "route", "add", "10.42.1.0/24", "via", "10.42.2.1")
        sh("ip", "netns", "exec", self.node, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        for endpoint in SERVERS:
            self.pids.append(subprocess.Popen(
                ["ip", "netns", "exec", self.server, sys.executable, "-c", SERVER, endpoint.ip],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for endpoint in SERVERS:
            self._wait_listening(endpoint.ip)

    def _link(self, ns: str, inside: str, on_node: str) -> None:
        peer = f"v{uuid.uuid4().hex[:8]}"
        sh("ip", "-n", self.node, "link", "add", peer, "type", "veth", "peer", "name", "eth0",
           "netns", ns)
        sh("ip", "-n", self.node, "addr", "add", on_node, "dev", peer)
        sh("ip", "-n", ns, "addr", "add", inside, "dev", "eth0")
        sh("ip", "-n", self.node, "link", "set", peer, "up")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")

    def _wait_listening(self, ip: str) -> None:
        for _ in range(200):
            out = subprocess.run(["ip", "netns", "exec", self.server, "ss", "-Htln",
                                  f"src {ip}:8080"], capture_output=True, text=True).stdout
            if out.strip():
                return
            subprocess.run(["sleep", "0.05"], check=True)
        raise AssertionError(f"server on {ip} did not start")

    def get(self, url: str, count: int) -> list[str]:
        out = subprocess.run(["ip", "netns", "exec", self.client, sys.executable, "-c", CLIENT,
                              url, str(count)], capture_output=True, text=True, check=True,
                             timeout=60).stdout
        return list(json.loads(out))

    def tables(self) -> str:
        return subprocess.run(["ip", "netns", "exec", self.node, "nft", "list", "tables"],
                              capture_output=True, text=True, check=True).stdout

    def teardown(self) -> None:
        for process in self.pids:
            process.kill()
            process.wait(timeout=10)
        for ns in (self.client, self.node, self.server):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)


@pytest.fixture
def world() -> Iterator[World]:
    need_root_tools()
    built = World()
    try:
        built.build()
        yield built
    finally:
        built.teardown()


async def test_dnat_between_namespaces(world: World) -> None:
    backend = NftablesBackend(node_name="n1", command=("ip", "netns", "exec", world.node, "nft"))
    outside = (ipaddress.IPv4Network("10.99.0.0/16"),)
    table = ProxyTable({
        Frontend("TCP", CLUSTER_IP, 80): route("web", "cluster-ip", *SERVERS),
        Frontend("TCP", NODE_IP, 30080): route("web-ext", "node-port", *SERVERS,
                                               affinity_seconds=300),
        Frontend("TCP", LB_IP, 80): route("web-lb", "load-balancer", *SERVERS,
                                          source_ranges=outside),
        Frontend("TCP", "10.43.0.6", 80): route("empty", "cluster-ip")})
    try:
        assert await backend.sync(table) == []
        assert "steersman-n1" in world.tables()
        assert set(world.get(f"http://{CLUSTER_IP}/", 24)) == {"10.42.2.2", "10.42.2.3"}
        sticky = world.get(f"http://{NODE_IP}:30080/", 8)  # ClientIP affinity via the set
        assert len(set(sticky)) == 1 and sticky[0] in ("10.42.2.2", "10.42.2.3")
        assert world.get("http://10.43.0.6/", 1) == ["ConnectionRefusedError"]
        assert world.get(f"http://{LB_IP}/", 1) == ["TimeoutError"]  # dropped: not in range
        allowed = dataclass_replace(table, Frontend("TCP", LB_IP, 80), source_ranges=(
            ipaddress.IPv4Network("10.42.1.0/24"),))
        await backend.sync(allowed)
        assert world.get(f"http://{LB_IP}/", 1)[0] in ("10.42.2.2", "10.42.2.3")
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(backend.close(), 30)
    assert "steersman-n1" not in world.tables()


def dataclass_replace(table: ProxyTable, frontend: Frontend, **changes: object) -> ProxyTable:
    routes = dict(table.routes)
    routes[frontend] = dataclasses.replace(routes[frontend], **changes)  # type: ignore[arg-type]
    return ProxyTable(routes)
