"""Cluster DNS end to end: a real ``steersman server``, real ``kubectl`` and real ``dig``.

One server for the module, its DNS on 127.0.0.1 at a free port (``--dns-port 0``; the real
port is read from the server's start-up lines) and forwarding to a fake upstream resolver
on 127.0.0.1 that this module runs: no query ever leaves the machine. Services are made
with kubectl; headless endpoints are an EndpointSlice written by the test with the
``kubernetes`` Python client, as a controller outside the cluster would.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from kubernetes import client, config

from tests.e2e.harness import ServerProcess, start_server
from tests.tools import need_tool
from tests.unit.dns.fake_upstream import FORWARDED_ADDRESS, FakeUpstream


@dataclass
class Cluster:
    server: ServerProcess
    upstream: FakeUpstream
    port: int
    namespace: str

    def dig(self, name: str, qtype: str = "A", *options: str) -> str:
        result = subprocess.run(
            [need_tool("dig", "the DNS tests query with the real dig"), "@127.0.0.1",
             "-p", str(self.port), name, qtype, "+tries=1", "+time=5", *options],
            capture_output=True, text=True, timeout=30, check=False)
        assert result.returncode == 0, f"dig failed: {result.stdout}{result.stderr}"
        return result.stdout

    def short(self, name: str, qtype: str = "A", *options: str) -> list[str]:
        return sorted(self.dig(name, qtype, "+short", *options).split("\n")[:-1])

    def status(self, name: str, qtype: str = "A") -> str:
        match = re.search(r"status: (\w+)", self.dig(name, qtype))
        assert match, "dig printed no status"
        return match.group(1)

    def apply(self, manifest: dict[str, object]) -> None:
        self.server.kubectl("apply", "-n", self.namespace, "-f", "-",
                            input=json.dumps(manifest))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    need_tool("dig", "the DNS tests query with the real dig")
    upstream = FakeUpstream("127.0.0.1")
    try:
        server = start_server(tmp_path_factory.mktemp("dns"), "--no-ingress",
                              "--dns-address", "127.0.0.1", "--dns-port", "0",
                              "--dns-upstream", upstream.address)
        try:
            match = re.search(r"cluster DNS: 127\.0\.0\.1:(\d+)", server.log_tail())
            assert match, f"no cluster DNS line in the server output:\n{server.log_tail()}"
            namespace = f"dns-{uuid.uuid4().hex[:6]}"
            server.kubectl("create", "namespace", namespace)
            yield Cluster(server, upstream, int(match.group(1)), namespace)
        finally:
            server.stop()
    finally:
        upstream.close()


def _eventually(check: object, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what} not seen within {timeout}s"
        time.sleep(0.1)


def test_kube_dns_service_is_created_for_the_dns_address(cluster: Cluster) -> None:
    service = json.loads(cluster.server.kubectl(
        "get", "service", "kube-dns", "-n", "kube-system", "-o", "json").stdout)
    assert service["spec"]["clusterIP"] == "127.43.0.10"
    assert service["metadata"]["labels"]["service.kubernetes.io/service-proxy-name"] \
        == "steersman-dns"
    assert {(p["name"], p["protocol"]) for p in service["spec"]["ports"]} == {
        ("dns", "UDP"), ("dns-tcp", "TCP")}
    assert cluster.short("kube-dns.kube-system.svc.cluster.local") == ["127.43.0.10"]


def test_cluster_ip_service_over_udp_and_tcp_with_srv(cluster: Cluster) -> None:
    cluster.server.kubectl("create", "service", "clusterip", "web", "-n", cluster.namespace,
                           "--tcp=80:8080")
    ip = cluster.server.kubectl("get", "service", "web", "-n", cluster.namespace,
                                "-o", "jsonpath={.spec.clusterIP}").stdout
    name = f"web.{cluster.namespace}.svc.cluster.local"
    _eventually(lambda: cluster.short(name) == [ip], "the Service's A record")
    assert cluster.short(name, "A", "+tcp") == [ip]
    assert cluster.short(f"_80-8080._tcp.{name}", "SRV") == [f"0 100 80 {name}."]
    assert cluster.status(name, "AAAA") == "NOERROR" and not cluster.short(name, "AAAA")
    assert cluster.status(f"nope.{cluster.namespace}.svc.cluster.local") == "NXDOMAIN"


def test_headless_service_answers_per_ready_endpoint(cluster: Cluster) -> None:
    cluster.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db"},
                   "spec": {"clusterIP": "None",
                            "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}]}})
    # The endpoints, as a controller outside the cluster would write them.
    api = config.new_client_from_config(config_file=str(cluster.server.kubeconfig))
    try:
        client.DiscoveryV1Api(api).create_namespaced_endpoint_slice(
            cluster.namespace, client.V1EndpointSlice(
                metadata=client.V1ObjectMeta(
                    name="db-1", labels={"kubernetes.io/service-name": "db"}),
                address_type="IPv4",
                ports=[client.DiscoveryV1EndpointPort(name="pg", port=5432, protocol="TCP")],
                endpoints=[_endpoint("127.42.0.5", True, "db-0"),
                           _endpoint("127.42.0.6", True), _endpoint("127.42.0.7", False)]))
    finally:
        api.close()
    name = f"db.{cluster.namespace}.svc.cluster.local"
    _eventually(lambda: cluster.short(name) == ["127.42.0.5", "127.42.0.6"],
                "one A record per ready endpoint")
    assert cluster.short(f"db-0.{name}", "A", "+tcp") == ["127.42.0.5"]
    assert cluster.short(f"_pg._tcp.{name}", "SRV") == [
        f"0 50 5432 127-42-0-6.{name}.", f"0 50 5432 db-0.{name}."]


def _endpoint(address: str, ready: bool, hostname: str | None = None) -> client.V1Endpoint:
    return client.V1Endpoint(addresses=[address], hostname=hostname,
                             conditions=client.V1EndpointConditions(ready=ready))


def test_external_name_is_a_cname(cluster: Cluster) -> None:
    cluster.server.kubectl("create", "service", "externalname", "ext", "-n", cluster.namespace,
                           "--external-name", "db.example.org")
    name = f"ext.{cluster.namespace}.svc.cluster.local"
    _eventually(lambda: cluster.short(name, "CNAME") == ["db.example.org."], "the CNAME")
    assert "CNAME\tdb.example.org." in cluster.dig(name, "A", "+noall", "+answer")


def test_answers_follow_a_service_create_and_delete(cluster: Cluster) -> None:
    name = f"later.{cluster.namespace}.svc.cluster.local"
    assert cluster.status(name) == "NXDOMAIN"
    cluster.server.kubectl("create", "service", "clusterip", "later", "-n", cluster.namespace,
                           "--tcp=81")
    _eventually(lambda: cluster.status(name) == "NOERROR" and cluster.short(name),
                "the new Service in DNS")
    cluster.server.kubectl("delete", "service", "later", "-n", cluster.namespace)
    _eventually(lambda: cluster.status(name) == "NXDOMAIN", "the deleted Service gone")


def test_other_names_go_to_the_upstream_resolver(cluster: Cluster) -> None:
    assert cluster.short("www.example.org") == [FORWARDED_ADDRESS]
    assert ("udp", "www.example.org.", "A") in cluster.upstream.asked
    big = cluster.short("big.example.org", "A", "+tcp")
    assert len(big) == 60
    assert ("tcp", "big.example.org.", "A") in cluster.upstream.asked
