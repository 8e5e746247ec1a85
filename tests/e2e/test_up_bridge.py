"""``steersman up --network bridge --nodes 2 --runtime process``: pods on node bridges.

One cluster for the module (root, Debian's CNI plugins). A pod on each node gets an address
of its node's /24 of 10.42.0.0/16; the host reaches the first pod's HTTP server by its IP,
a pod on the other node fetches it too (a run-to-completion pod: no exec), neither pod
namespace has a default route, the blackhole routes are in place and ``ip_forward`` keeps
its value. Once the pods are deleted and ``up`` stops, no namespace, bridge, veth or route
of the cluster is left.
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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from steersman.kubelet.network.bridge import NETNS_PREFIX, BridgeNetwork
from steersman.kubelet.network.cni import DEFAULT_CNI_PATH
from steersman.kubelet.network.links import ROUTE_PROTOCOL, read_ip_forward
from steersman.kubelet.network.registry import bridge_name
from steersman.kubelet.runtime.registry import new_runtime
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


class BridgedCluster:
    def __init__(self, up: ServerProcess, forward: str) -> None:
        self.up = up
        self.ip_forward = forward
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

    def pod(self, name: str) -> dict[str, Any]:
        out = self.up.kubectl("get", "pod", name, "-o", "json", check=False).stdout
        return json.loads(out) if out else {}

    def phase(self, name: str) -> str:
        return str((self.pod(name).get("status") or {}).get("phase") or "")

    def restart(self) -> None:
        """Stop ``up`` (its containers stop, their sandboxes stay) and start it again."""
        self.up.stop()
        self.starts += 1
        self.up = _start(self.up.data_dir, log_name=f"up-{self.starts}.log")
        self.wait_for_nodes()

    def run_pod(self, name: str, node: str, command: list[str], restart: str) -> None:
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
               "spec": {"nodeName": node, "restartPolicy": restart,
                        "containers": [{"name": "main", "image": "busybox",
                                        "command": command}]}}
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
