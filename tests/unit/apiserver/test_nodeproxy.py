"""Locating a pod's node agent and checking the container, before anything is proxied."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from cryptography import x509

from steersman.api.errors import StatusError
from steersman.apiserver.nodeproxy import container_for, kubelet_address
from steersman.apiserver.pki import (
    ensure_pki,
    issue_serving_certificate,
    kubelet_client_ssl_context,
)
from steersman.apiserver.upgradetunnel import status_error_from

POD = {"metadata": {"name": "p", "namespace": "ns"},
       "spec": {"containers": [{"name": "a"}, {"name": "b"}], "initContainers": [{"name": "i"}]}}


def test_container_is_checked_and_required_when_ambiguous() -> None:
    assert container_for(POD, "b") == "b"
    assert container_for(POD, "i") == "i"
    with pytest.raises(StatusError, match="container z is not valid for pod p"):
        container_for(POD, "z")
    with pytest.raises(StatusError, match=r"choose one of: \[a b\] or one of the init"):
        container_for(POD, "")
    single = {"metadata": {"name": "q"}, "spec": {"containers": [{"name": "only"}]}}
    assert container_for(single, "") == "only"


def test_kubelet_address_prefers_the_internal_ip_and_defaults_the_port() -> None:
    node = {"metadata": {"name": "n"}, "status": {"addresses": [
        {"type": "Hostname", "address": "n1"}, {"type": "InternalIP", "address": "127.0.0.5"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10999}}}}
    assert kubelet_address(node) == ("127.0.0.5", 10999)
    assert kubelet_address({"metadata": {"name": "n"}, "status": {"addresses": [
        {"type": "Hostname", "address": "n1"}]}}) == ("n1", 10250)
    with pytest.raises(StatusError, match="publishes no InternalIP") as caught:
        kubelet_address({"metadata": {"name": "n"}, "status": {}})
    assert caught.value.code == 503


def test_node_errors_pass_through_as_statuses() -> None:
    status = status_error_from(400, b'{"kind":"Status","code":400,"reason":"BadRequest",'
                                    b'"message":"container c is not running"}')
    assert (status.code, status.message) == (400, "container c is not running")
    assert status_error_from(500, b"boom\n").message == "boom"


def test_kubelet_certificates_from_the_cluster_ca(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path / "pki")
    cert_pem, _ = issue_serving_certificate(pki, common_name="system:node:n",
                                            hosts=["127.0.0.9", "node-a"])
    cert = x509.load_pem_x509_certificate(cert_pem)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(v) for v in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.9"]
    assert sans.get_values_for_type(x509.DNSName) == ["node-a"]
    context = kubelet_client_ssl_context(pki)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    client = x509.load_pem_x509_certificate((pki.directory / "apiserver-kubelet-client.crt")
                                            .read_bytes())
    assert "O=system:masters" in client.subject.rfc4514_string()
