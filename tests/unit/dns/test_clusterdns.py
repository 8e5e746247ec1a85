"""The component: the kube-dns Service it ensures, and a clear error when it cannot bind."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from steersman.api import errors
from steersman.client import Resource
from steersman.dns import ClusterDNS, DNSConfig, DNSListenError, Upstream, dns_service_ip

Object = dict[str, Any]


class ServicesOnly:
    """The two Service verbs ClusterDNS.start uses, on a dict."""

    def __init__(self, existing: Object | None = None) -> None:
        self.created: list[Object] = []
        self._existing = existing

    async def get(self, resource: Resource, name: str, *, namespace: str = "") -> Object:
        if self._existing is None:
            raise errors.not_found(resource.plural, name)
        return self._existing

    async def create(self, resource: Resource, obj: Object, *, namespace: str = "") -> Object:
        self.created.append(obj)
        return obj


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


def test_the_dns_address_is_the_tenth_of_the_service_range() -> None:
    assert dns_service_ip("127.43.0.0/16") == "127.43.0.10"
    assert dns_service_ip("10.43.0.0/16") == "10.43.0.10"
