"""The component: the kube-dns Service it ensures, and a clear error when it cannot bind."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from steersman.api import errors
from steersman.client import Resource
from steersman.dns import (
    ClusterDNS,
    DNSConfig,
    DNSListenError,
    Upstream,
    dns_endpoint_ip,
    dns_service_ip,
)

Object = dict[str, Any]


class ServicesOnly:
    """The verbs ClusterDNS.start uses, on a dict."""

    def __init__(self, existing: Object | None = None) -> None:
        self.created: list[Object] = []
        self.patched: list[tuple[str, str, Object, dict[str, Any]]] = []
        self._existing = existing

    async def get(self, resource: Resource, name: str, *, namespace: str = "") -> Object:
        if self._existing is None:
            raise errors.not_found(resource.plural, name)
        return self._existing

    async def create(self, resource: Resource, obj: Object, *, namespace: str = "") -> Object:
        self.created.append(obj)
        return obj

    async def patch(self, resource: Resource, name: str, patch: Object,
                    **options: Any) -> Object:
        self.patched.append((resource.plural, name, patch, options))
        return patch


def _config(port: int) -> DNSConfig:
    return DNSConfig(service_ip="127.43.0.10", address="127.0.0.1", port=port,
                     upstreams=(Upstream("127.0.0.1", 9),))


async def test_kube_dns_is_created_and_a_taken_port_is_a_clear_error() -> None:
    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    taken.bind(("127.0.0.1", 0))
    try:
        client = ServicesOnly()
        dns = ClusterDNS(client, _config(taken.getsockname()[1]))  # type: ignore[arg-type]
        with pytest.raises(DNSListenError, match=r"cannot listen on 127\.0\.0\.1:\d+ .*"
                                                 r"another --dns-address or --dns-port.*"
                                                 r"--no-dns"):
            await dns.start()
        await dns.stop()
    finally:
        taken.close()
    [service] = client.created
    assert service["metadata"]["namespace"] == "kube-system"
    assert service["metadata"]["labels"]["service.kubernetes.io/service-proxy-name"] \
        == "steersman-dns"
    assert service["spec"]["clusterIP"] == "127.43.0.10"
    assert [(p["name"], p["protocol"], p["port"]) for p in service["spec"]["ports"]] == [
        ("dns", "UDP", 53), ("dns-tcp", "TCP", 53)]


async def test_an_existing_kube_dns_is_kept() -> None:
    existing = {"metadata": {"name": "kube-dns"}, "spec": {"clusterIP": "127.43.0.10"}}
    client = ServicesOnly(existing)
    dns = ClusterDNS(client, _config(0))  # type: ignore[arg-type]
    try:
        await dns.start()
        assert dns.address[0] == "127.0.0.1" and dns.address[1] > 0
    finally:
        await dns.stop()
    assert client.created == []
    # It had lost its proxy-name label (a server of the other kind ran before): put back.
    [(plural, _, patch, _)] = client.patched
    assert plural == "services" and patch == {"metadata": {"labels": {
        "service.kubernetes.io/service-proxy-name": "steersman-dns"}}}


async def test_as_kube_dns_endpoint_the_service_is_proxied_and_names_the_listener() -> None:
    client = ServicesOnly()
    config = DNSConfig(service_ip="10.43.0.10", address="127.0.0.1", port=0, endpoint=True,
                       upstreams=(Upstream("127.0.0.1", 9),))
    dns = ClusterDNS(client, config)  # type: ignore[arg-type]
    try:
        await dns.start()
        port = dns.address[1]
    finally:
        await dns.stop()
    [service] = client.created
    assert "service.kubernetes.io/service-proxy-name" not in service["metadata"]["labels"]
    [(plural, name, endpoint_slice, options)] = client.patched
    assert (plural, name, options["namespace"]) == ("endpointslices", "kube-dns", "kube-system")
    assert endpoint_slice["metadata"]["labels"]["kubernetes.io/service-name"] == "kube-dns"
    assert endpoint_slice["endpoints"] == [{"addresses": ["127.0.0.1"],
                                            "conditions": {"ready": True}}]
    assert [(p["name"], p["protocol"], p["port"]) for p in endpoint_slice["ports"]] == [
        ("dns", "UDP", port), ("dns-tcp", "TCP", port)]


def test_the_dns_address_is_the_tenth_of_the_service_range() -> None:
    assert dns_service_ip("127.43.0.0/16") == "127.43.0.10"
    assert dns_service_ip("10.43.0.0/16") == "10.43.0.10"
    assert dns_endpoint_ip("10.43.0.0/16") == "10.43.0.53"
