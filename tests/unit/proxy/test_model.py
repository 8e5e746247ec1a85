"""build_table: which frontends a node serves and which endpoints each route uses."""

from __future__ import annotations

import ipaddress

from steersman.proxy.model import Endpoint, Frontend, build_table
from tests.unit.proxy.fixtures import endpoint, endpoint_slice, service

NODE = {"node_name": "n1", "node_ip": "127.42.1.1"}


def test_cluster_ip_routes_to_ready_endpoints_only() -> None:
    table = build_table([service("web")], [endpoint_slice(
        "web", endpoint("127.42.1.2"), endpoint("127.42.1.3", ready=False),
        endpoint("127.42.2.2", node="n2"))], **NODE)
    route = table.routes[Frontend("TCP", "127.43.0.5", 80)]
    assert route.endpoints == (Endpoint("127.42.1.2", 8080, "n1"),
                               Endpoint("127.42.2.2", 8080, "n2"))
    assert route.kind == "cluster-ip" and route.affinity_seconds is None
    assert list(table.routes) == [Frontend("TCP", "127.43.0.5", 80)]


def test_serving_terminating_endpoints_are_used_only_when_none_is_ready() -> None:
    draining = endpoint("127.42.1.3", ready=False, serving=True, terminating=True)
    gone = endpoint("127.42.1.4", ready=False, serving=False, terminating=True)
    with_ready = build_table([service("web")], [endpoint_slice(
        "web", endpoint("127.42.1.2"), draining, gone)], **NODE)
    assert [e.ip for e in with_ready.routes[Frontend("TCP", "127.43.0.5", 80)].endpoints] == [
        "127.42.1.2"]
    fallback = build_table([service("web")], [endpoint_slice("web", draining, gone)], **NODE)
    assert [e.ip for e in fallback.routes[Frontend("TCP", "127.43.0.5", 80)].endpoints] == [
        "127.42.1.3"]


def test_node_port_and_load_balancer_frontends() -> None:
    svc = service("web", type="LoadBalancer",
                  ports=[{"name": "http", "port": 80, "nodePort": 30080, "protocol": "TCP"}],
                  loadBalancerSourceRanges=["127.0.0.0/24"],
                  status={"loadBalancer": {"ingress": [
                      {"ip": "127.44.0.7"}, {"ip": "0.0.0.0"}, {"ip": "224.0.0.1"},
                      {"hostname": "lb.example.com"}]}})
    table = build_table([svc], [endpoint_slice("web", endpoint("127.42.1.2"))], **NODE)
    assert set(table.routes) == {
        Frontend("TCP", "127.43.0.5", 80), Frontend("TCP", "127.42.1.1", 30080),
        Frontend("TCP", "127.0.0.1", 30080), Frontend("TCP", "127.44.0.7", 80)}
    lb = table.routes[Frontend("TCP", "127.44.0.7", 80)]
    assert lb.kind == "load-balancer"
    assert lb.source_ranges == (ipaddress.IPv4Network("127.0.0.0/24"),)
    assert lb.allows("127.0.0.9") and not lb.allows("127.1.0.9")
    assert table.routes[Frontend("TCP", "127.42.1.1", 30080)].allows("127.1.0.9")


def test_traffic_policies_local_keep_this_nodes_endpoints() -> None:
    svc = service("web", type="NodePort", internalTrafficPolicy="Local",
                  externalTrafficPolicy="Local",
                  ports=[{"name": "http", "port": 80, "nodePort": 30080}])
    slices = [endpoint_slice("web", endpoint("127.42.1.2"), endpoint("127.42.2.2", node="n2"))]
    table = build_table([svc], slices, **NODE)
    for frontend in (Frontend("TCP", "127.43.0.5", 80), Frontend("TCP", "127.42.1.1", 30080)):
        assert [e.ip for e in table.routes[frontend].endpoints] == ["127.42.1.2"]
    # Which node answers on the shared loopback address would be arbitrary: not bound.
    assert Frontend("TCP", "127.0.0.1", 30080) not in table.routes


def test_services_the_proxy_leaves_alone() -> None:
    services = [service("headless", cluster_ip="None"),
                service("ext", type="ExternalName", externalName="example.com"),
                service("dns", cluster_ip="127.43.0.10",
                        labels={"service.kubernetes.io/service-proxy-name": "steersman-dns"})]
    assert build_table(services, [], **NODE).routes == {}


def test_ports_match_by_name_and_protocol_and_affinity_is_read() -> None:
    svc = service("dns", ports=[{"name": "dns", "port": 53, "protocol": "UDP"},
                                {"name": "dns-tcp", "port": 53, "protocol": "TCP"}],
                  sessionAffinity="ClientIP",
                  sessionAffinityConfig={"clientIP": {"timeoutSeconds": 30}})
    slices = [endpoint_slice("dns", endpoint("127.42.1.2"), port=5353, port_name="dns",
                             protocol="UDP")]
    table = build_table([svc], slices, **NODE)
    udp = table.routes[Frontend("UDP", "127.43.0.5", 53)]
    assert udp.endpoints == (Endpoint("127.42.1.2", 5353, "n1"),)
    assert udp.affinity_seconds == 30 and udp.protocol == "UDP"
    assert table.routes[Frontend("TCP", "127.43.0.5", 53)].endpoints == ()
