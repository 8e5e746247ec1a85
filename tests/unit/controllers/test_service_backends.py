"""Which pods back a Service and which ports they serve (``FindPort`` and friends)."""

from __future__ import annotations

from typing import Any

import pytest

from steersman.controllers import service_backends as backends
from tests.unit.controllers.fixtures import HTTP, pod, service


@pytest.mark.parametrize(("target", "protocol", "expected"), [
    (8080, "TCP", 8080),
    ("9090", "TCP", 9090),
    ("http", "TCP", 8080),
    ("http", "UDP", None),
    ("metrics", "TCP", None),
    (0, "TCP", None),
])
def test_find_port(target: Any, protocol: str, expected: int | None) -> None:
    assert backends.find_port(pod("a", ports=HTTP), target, protocol) == expected


@pytest.mark.parametrize(("status", "expected"), [
    ({"podIP": "127.42.0.7"}, "127.42.0.7"),
    ({"podIPs": [{"ip": "fd00::1"}, {"ip": "10.0.0.3"}], "podIP": "fd00::1"}, "10.0.0.3"),
    ({"podIP": "fd00::1"}, ""),
    ({}, ""),
])
def test_ipv4_address(status: dict[str, Any], expected: str) -> None:
    assert backends.ipv4_address({"status": status}) == expected


def test_backing_pods_filters_and_sorts() -> None:
    pods = [pod("b", ip="10.0.0.2"), pod("a", ip="10.0.0.1"),
            pod("no-ip"), pod("other", ip="10.0.0.3", labels={"app": "db"}),
            pod("done", ip="10.0.0.4", phase="Succeeded"),
            pod("leaving", ip="10.0.0.5", terminating=True)]
    names = [p["metadata"]["name"] for p in backends.backing_pods(
        service(), pods, include_terminating=False)]
    assert names == ["a", "b"]
    with_terminating = backends.backing_pods(service(), pods, include_terminating=True)
    assert [p["metadata"]["name"] for p in with_terminating] == ["a", "b", "leaving"]


@pytest.mark.parametrize(("spec", "expected"), [
    ({"selector": {"app": "web"}}, True),
    ({"selector": {}}, False),
    ({}, False),
    ({"selector": {"app": "web"}, "type": "ExternalName"}, False),
])
def test_has_selector(spec: dict[str, Any], expected: bool) -> None:
    assert backends.has_selector({"metadata": {}, "spec": spec}) is expected


def test_resolve_ports_keeps_service_order_and_skips_unresolved() -> None:
    svc = service(ports=[{"name": "http", "port": 80, "targetPort": "http"},
                         {"name": "metrics", "port": 9100, "targetPort": "metrics"},
                         {"name": "raw", "port": 81, "targetPort": 7000}])
    assert backends.resolve_ports(svc, pod("a", ports=HTTP)) == (
        backends.EndpointPort("http", 8080), backends.EndpointPort("raw", 7000))


def test_headless_label_and_hostname() -> None:
    svc = service(cluster_ip="None")
    assert backends.endpoint_labels(svc) == {"team": "a", backends.HEADLESS_LABEL: ""}
    member = pod("a", ip="10.0.0.1")
    member["spec"].update(hostname="a-0", subdomain="web")
    assert backends.hostname_for(svc, member) == "a-0"
    member["spec"]["subdomain"] = "other"
    assert backends.hostname_for(svc, member) == ""
