"""``steersman up --network bridge --nodes 2 --runtime process``: pods on node bridges.

One cluster for the module (root, Debian's CNI plugins). A pod on each node gets an address
of its node's /24 of 10.42.0.0/16; the host reaches the first pod's HTTP server by its IP,
a pod on the other node fetches it too (a run-to-completion pod: no exec), neither pod
namespace has a default route, the blackhole routes are in place and ``ip_forward`` keeps
its value. Services (``10.43.0.0/16``, the nftables proxy): a pod resolves a Service through
the cluster DNS its resolv.conf names and fetches from it by name and by its
``<SVC>_SERVICE_HOST/PORT`` variables. A pod with a ``hostPort`` answers at its node's
address on that port (the CNI portmap plugin), and its rules go with it. Once the pods are
deleted and ``up`` stops, no namespace, bridge, veth, route, nftables table, portmap chain
or DNS address of the cluster is left.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import json
import os
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from dnslib import QTYPE, DNSRecord

from steersman.kubelet.network.bridge import NETNS_PREFIX, BridgeNetwork
from steersman.kubelet.network.cni import DEFAULT_CNI_PATH
from steersman.kubelet.network.links import ROUTE_PROTOCOL, read_ip_forward
from steersman.kubelet.network.registry import bridge_name
from steersman.kubelet.runtime.registry import new_runtime
from steersman.proxy.nftables import table_name
from tests.e2e.harness import ServerProcess
from tests.e2e.up_cluster import eventually
from tests.tools import need_tool, required_everything

pytestmark = pytest.mark.e2e


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


def sh(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True, timeout=30).stdout


def nat_rules() -> str:
    return subprocess.run(["iptables", "-w", "-t", "nat", "-S"], capture_output=True,
                          text=True, timeout=30).stdout


class BridgedCluster:
    def __init__(self, up: ServerProcess, forward: str) -> None:
        self.up = up
        self.ip_forward = forward
        self.hostport_chains = "CNI-HOSTPORT-DNAT" in nat_rules()  # another user's
        self.starts = 1
        self.nodes: dict[str, dict[str, Any]] = {}

    def wait_for_nodes(self) -> None:
        _wait_for_nodes(self.up)
        self.nodes = {n["metadata"]["name"]: n for n in json.loads(
            self.up.kubectl("get", "nodes", "-o", "json").stdout)["items"]}

    def node_names(self) -> list[str]:
        return sorted(self.nodes)

    def subnet(self, node: str) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.nodes[node]["spec"]["podCIDR"])

    def bridge(self, node: str) -> str:
        return bridge_name(self.subnet(node), self.up.data_dir / "nodes" / node / "network")

    def pod(self, name: str, namespace: str = "default") -> dict[str, Any]:
        out = self.up.kubectl("get", "pod", name, "-n", namespace, "-o", "json",
                              check=False).stdout
        return json.loads(out) if out else {}

    def phase(self, name: str, namespace: str = "default") -> str:
        return str((self.pod(name, namespace).get("status") or {}).get("phase") or "")

    def restart(self) -> None:
        """Stop ``up`` (its containers stop, their sandboxes stay) and start it again."""
        self.up.stop()
        self.starts += 1
        self.up = _start(self.up.data_dir, log_name=f"up-{self.starts}.log")
        self.wait_for_nodes()

    def run_pod(self, name: str, node: str, command: list[str], restart: str,
                namespace: str = "default", ports: tuple[dict[str, int], ...] = ()) -> None:
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "namespace": namespace},
               "spec": {"nodeName": node, "restartPolicy": restart,
                        "containers": [{"name": "main", "image": "busybox",
                                        "command": command, "ports": list(ports)}]}}
        self.up.kubectl("apply", "-f", "-", input=json.dumps(pod))


def _start(data_dir: Path, log_name: str = "up.log") -> ServerProcess:
    data_dir.mkdir(parents=True, exist_ok=True)
    name_file = data_dir.parent / "cluster-name"
    if not name_file.exists():
        name_file.write_text(f"b{uuid.uuid4().hex[:6]}")
    log_path = data_dir.parent / log_name
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "steersman", "up", "--port", "0", "--data-dir",
             str(data_dir), "--name", name_file.read_text(), "--nodes", "2",
             "--runtime", "process", "--network", "bridge"],
            stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    return ServerProcess(data_dir, process, log_path)


def _wait_for_nodes(up: ServerProcess) -> None:
    eventually(lambda: "export KUBECONFIG=" in up.log_tail(200)
               or up.process.poll() is not None, 60, "the export line")
    assert up.process.poll() is None, up.log_tail()
    eventually(lambda: _ready(up) == 2, 30, "2 Ready nodes")


def _ready(up: ServerProcess) -> int:
    items = json.loads(up.kubectl("get", "nodes", "-o", "json").stdout)["items"]
    return sum(1 for n in items for c in n["status"].get("conditions") or ()
               if c["type"] == "Ready" and c["status"] == "True")


async def _remove_containers(state_dir: Path) -> None:
    runtime = new_runtime("process", state_dir=state_dir)
    for sandbox in await runtime.list_sandboxes():
        await runtime.remove_sandbox(sandbox.id)


def _scrub(data_dir: Path) -> None:
    """After a failure: the pod namespaces and bridges of this cluster, by name."""
    node_dirs = list((data_dir / "nodes").glob("*"))
    for ipam in (d / "network" / "ipam" for d in node_dirs):
        for uid in {f.read_text().split()[0] for f in ipam.rglob("10.42.*") if f.is_file()}:
            subprocess.run(["ip", "netns", "del", f"{NETNS_PREFIX}{uid}"], capture_output=True)
    for link in json.loads(sh("ip", "-j", "addr", "show", "type", "bridge") or "[]"):
        for address in link.get("addr_info", ()):
            if address.get("family") != "inet":
                continue
            subnet = ipaddress.IPv4Network(f"{address['local']}/24", strict=False)
            if any(bridge_name(subnet, d / "network") == link["ifname"] for d in node_dirs):
                subprocess.run(["ip", "link", "del", link["ifname"]], capture_output=True)
    network = BridgeNetwork(bridge="sm-scrub", subnet=ipaddress.IPv4Network("10.42.255.0/24"),
                            state_dir=data_dir / "scrub")
    asyncio.run(network.close())  # our blackholes, unless another node still uses them


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BridgedCluster]:
    need_bridge_networking()
    need_tool("kubectl", "the end-to-end tests drive the real kubectl")
    need_tool("nft", "apt install nftables (the nftables service proxy)")
    forward = read_ip_forward()
    data_dir = tmp_path_factory.mktemp("bridge") / "cluster"
    cluster = BridgedCluster(_start(data_dir), forward)
    try:
        cluster.wait_for_nodes()
        yield cluster
    finally:
        cluster.up.stop()
        for state_dir in (data_dir / "nodes").glob("*/runtime"):
            asyncio.run(_remove_containers(state_dir))
        for node in (data_dir / "nodes").glob("*"):  # a proxy that could not clean up
            subprocess.run(["nft", "delete", "table", "ip", table_name(node.name)],
                           capture_output=True)
        _scrub(data_dir)


def _fetch(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return int(answer.status)
    except OSError:
        return 0


def _gone(path: Path) -> Callable[[], bool]:
    return lambda: not path.exists()


FETCH = "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=10)"
DNS_IP, DNS_ENDPOINT = "10.43.0.10", "10.43.0.53"
NS = "lookup"
# Run in a bridge pod: its resolv.conf is the cluster's, and the Service answers by name
# (through the search path too) and by its environment variables.
SERVICE_CLIENT = """
import os, socket, urllib.request
conf = open("/etc/resolv.conf").read()
assert "nameserver 10.43.0.10" in conf, conf
assert "search lookup.svc.cluster.local svc.cluster.local cluster.local" in conf, conf
assert "options ndots:5" in conf, conf
host, port = os.environ["ECHO_SERVICE_HOST"], os.environ["ECHO_SERVICE_PORT"]
for name in ("echo.lookup.svc.cluster.local", "echo"):
    found = {a[4][0] for a in socket.getaddrinfo(name, 80, socket.AF_INET, socket.SOCK_STREAM)}
    assert found == {host}, (name, found, host)
for url in ("http://echo.lookup.svc.cluster.local/", "http://echo/", f"http://{host}:{port}/"):
    for _ in range(4):  # the round-robin over both replicas, hairpin included
        assert urllib.request.urlopen(url, timeout=10).status == 200, url
print("ok", host, port)
"""


def test_pods_on_two_nodes_reach_each_other_by_pod_ip(cluster: BridgedCluster) -> None:
    first, second = cluster.node_names()
    assert cluster.subnet(first) != cluster.subnet(second)
    for node in (first, second):
        assert cluster.subnet(node).subnet_of(ipaddress.IPv4Network("10.42.0.0/16"))
    cluster.run_pod("web", first, ["python3", "-m", "http.server", "8080", "--bind",
                                   "0.0.0.0"], "Always")
    eventually(lambda: cluster.phase("web") == "Running", 30, "web Running")
    web_ip = cluster.pod("web")["status"]["podIP"]
    assert ipaddress.IPv4Address(web_ip) in cluster.subnet(first)
    eventually(lambda: _fetch(f"http://{web_ip}:8080/") == 200, 30, "the host reaching web")

    cluster.run_pod("client", second, ["python3", "-c", FETCH, f"http://{web_ip}:8080/"],
                    "Never")
    eventually(lambda: cluster.phase("client") in ("Succeeded", "Failed"), 30, "client done")
    client = cluster.pod("client")
    assert client["status"]["phase"] == "Succeeded", cluster.up.kubectl(
        "logs", "client", check=False).stdout
    assert ipaddress.IPv4Address(client["status"]["podIP"]) in cluster.subnet(second)

    # The node's address is its bridge's gateway: logs are served there.
    assert cluster.nodes[first]["status"]["addresses"][0]["address"] == str(
        cluster.subnet(first).network_address + 1)
    assert '"GET / HTTP/1.1" 200' in cluster.up.kubectl("logs", "web").stdout

    netns = f"{NETNS_PREFIX}{cluster.pod('web')['metadata']['uid']}"
    routes = sh("ip", "-n", netns, "route")
    assert "default" not in routes and "10.42.0.0/16" in routes
    blackholes = sh("ip", "route", "show", "type", "blackhole")
    assert "10.42.0.0/16" in blackholes and "10.43.0.0/16" in blackholes
    assert read_ip_forward() == cluster.ip_forward


def test_a_restarted_up_adopts_the_pod_networks(cluster: BridgedCluster) -> None:
    web = cluster.pod("web")
    netns = Path(f"/run/netns/{NETNS_PREFIX}{web['metadata']['uid']}")
    inode = netns.stat().st_ino
    cluster.restart()
    eventually(lambda: cluster.phase("web") == "Running", 30, "web Running again")
    assert cluster.pod("web")["status"]["podIP"] == web["status"]["podIP"]
    assert netns.stat().st_ino == inode  # the same namespace, kept across the restart
    eventually(lambda: _fetch(f"http://{web['status']['podIP']}:8080/") == 200, 30,
               "the host reaching web after the restart")


def _dns_answer(name: str) -> list[str]:
    """A records for ``name`` from the cluster DNS, asked where it listens: the machine's
    own packets to a ClusterIP meet the blackhole route before any DNAT could apply."""
    try:
        reply = DNSRecord.parse(DNSRecord.question(name).send(DNS_ENDPOINT, 53, timeout=2))
    except OSError:
        return []
    return [str(r.rdata) for r in reply.rr if r.rtype == QTYPE.A]


def _ready_endpoints(cluster: BridgedCluster, namespace: str, service: str) -> list[str]:
    out = cluster.up.kubectl("get", "endpointslices", "-n", namespace, "-l",
                             f"kubernetes.io/service-name={service}", "-o", "json").stdout
    return sorted(a for s in json.loads(out)["items"] for e in s.get("endpoints") or ()
                  if (e.get("conditions") or {}).get("ready") for a in e["addresses"])


def _programmed(node: str, *rules: str) -> Callable[[], bool]:
    def check() -> bool:
        listing = subprocess.run(["nft", "list", "table", "ip", table_name(node)],
                                 capture_output=True, text=True, timeout=30).stdout
        return all(rule in listing for rule in rules)
    return check


def _finished(cluster: BridgedCluster, pod: str) -> Callable[[], bool]:
    return lambda: cluster.phase(pod, NS) in ("Succeeded", "Failed")


def test_pods_reach_a_service_by_dns_name_and_env_vars(cluster: BridgedCluster) -> None:
    first, second = cluster.node_names()
    kubectl = functools.partial(cluster.up.kubectl, "-n", NS)
    # A namespace of its own, its Service first: a pod's ECHO_SERVICE_* come from the
    # Services its node lists when it starts it (the list is cached for 2 s).
    cluster.up.kubectl("create", "namespace", NS)
    kubectl("create", "service", "clusterip", "echo", "--tcp=80:8080")
    kubectl("create", "deployment", "echo", "--replicas=2", "--image=busybox",
            "--", "python3", "-m", "http.server", "8080", "--bind", "0.0.0.0")
    cluster_ip = json.loads(kubectl("get", "service", "echo", "-o", "json").stdout)[
        "spec"]["clusterIP"]
    assert ipaddress.IPv4Address(cluster_ip) in ipaddress.IPv4Network("10.43.0.0/16")
    assert _ready_endpoints(cluster, "kube-system", "kube-dns") == [DNS_ENDPOINT]
    eventually(lambda: len(_ready_endpoints(cluster, NS, "echo")) == 2, 30,
               "2 ready echo endpoints")
    eventually(lambda: _dns_answer(f"echo.{NS}.svc.cluster.local.") == [cluster_ip], 30,
               "the cluster DNS answering for echo")
    for node in (first, second):  # each node's proxy DNATs both ClusterIPs
        eventually(_programmed(node, f"ip daddr {cluster_ip} tcp dport 80 jump",
                               f"ip daddr {DNS_IP} udp dport 53 jump"), 30,
                   f"{node}'s nftables rules for echo and kube-dns")

    for name, node in (("near", first), ("far", second)):  # a client on each node
        cluster.run_pod(name, node, ["python3", "-c", SERVICE_CLIENT], "Never", NS)
    for name in ("near", "far"):
        eventually(_finished(cluster, name), 30, f"{name} done")
        logs = kubectl("logs", name, check=False).stdout
        assert cluster.phase(name, NS) == "Succeeded", logs
        assert f"ok {cluster_ip} 80" in logs

    uids = [cluster.pod(p, NS)["metadata"]["uid"] for p in ("near", "far")]
    kubectl("delete", "deployment,service", "echo", "--wait=true", "--timeout=60s")
    kubectl("delete", "pod", "near", "far", "--wait=true", "--timeout=60s")
    eventually(lambda: not _ready_endpoints(cluster, NS, "echo"), 30, "echo pods gone")
    for uid in uids:
        eventually(_gone(Path(f"/run/netns/{NETNS_PREFIX}{uid}")), 30,
                   f"namespace of pod {uid} removed")


def test_a_host_port_answers_at_the_node_address(cluster: BridgedCluster) -> None:
    node = cluster.node_names()[0]
    node_ip = str(cluster.subnet(node).network_address + 1)
    listening = sh("ss", "-Htanl")
    port = next(p for p in range(42000, 43000) if f":{p} " not in listening)
    cluster.run_pod("hostport", node, ["python3", "-m", "http.server", "8080", "--bind",
                                       "0.0.0.0"], "Always",
                    ports=({"containerPort": 8080, "hostPort": port},))
    eventually(lambda: cluster.phase("hostport") == "Running", 30, "hostport Running")
    pod = cluster.pod("hostport")
    eventually(lambda: _fetch(f"http://{node_ip}:{port}/") == 200, 30,
               "the node address reaching hostport")
    assert f"--to-destination {pod['status']['podIP']}:8080" in nat_rules()
    localnet = Path(f"/proc/sys/net/ipv4/conf/{cluster.bridge(node)}/route_localnet")
    assert localnet.read_text().strip() == "0"  # no loopback services opened to pods
    cluster.up.kubectl("delete", "pod", "hostport", "--wait=true", "--timeout=60s")
    eventually(_gone(Path(f"/run/netns/{NETNS_PREFIX}{pod['metadata']['uid']}")), 30,
               "namespace of hostport removed")
    assert pod["status"]["podIP"] + ":8080" not in nat_rules()
    assert _fetch(f"http://{node_ip}:{port}/") == 0


def test_stopping_up_leaves_no_network_behind(cluster: BridgedCluster) -> None:
    uids = [cluster.pod(p)["metadata"]["uid"] for p in ("web", "client")]
    bridges = [cluster.bridge(n) for n in cluster.node_names()]
    subnets = [str(cluster.subnet(n)) for n in cluster.node_names()]
    veths = [link["ifname"] for b in bridges
             for link in json.loads(sh("ip", "-j", "link", "show", "master", b) or "[]")]
    assert len(veths) == 2, veths  # one per pod: a completed pod keeps its until deleted
    cluster.up.kubectl("delete", "pod", "web", "client", "--wait=true", "--timeout=60s")
    for uid in uids:
        eventually(_gone(Path(f"/run/netns/{NETNS_PREFIX}{uid}")), 30,
                   f"namespace of pod {uid} removed")
    cluster.up.stop()
    assert cluster.up.process.returncode == 0, cluster.up.log_tail()
    links = sh("ip", "-br", "link")
    assert not [name for name in [*bridges, *veths] if name in links], links
    routes = sh("ip", "route")
    assert not [s for s in subnets if s in routes], routes
    others = [r for r in json.loads(sh("ip", "-j", "route", "show", "root", "10.42.0.0/16"))
              if r.get("type") != "blackhole"]
    assert others or not sh("ip", "route", "show", "proto", ROUTE_PROTOCOL), \
        "the cluster's blackhole routes outlived its last bridge"
    assert read_ip_forward() == cluster.ip_forward
    tables = sh("nft", "list", "tables")
    assert not [n for n in cluster.node_names() if table_name(n) in tables], tables
    assert DNS_ENDPOINT not in sh("ip", "addr", "show", "dev", "lo")
    if not cluster.hostport_chains:
        assert "CNI-HOSTPORT" not in nat_rules(), nat_rules()
