"""The CSR approver's rules and the signer's certificates."""

from __future__ import annotations

import base64
import datetime
import ipaddress
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from steersman.controllers.certificates import requests as req
from steersman.controllers.certificates.approver import approval_reason
from steersman.controllers.certificates.cleaner import expires_at
from steersman.controllers.certificates.signer import _Authority, request_problem, sign

Object = dict[str, Any]
NOW = 1_800_000_000.0
CLIENT = req.KUBELET_CLIENT_SIGNER
SERVING = req.KUBELET_SERVING_SIGNER


def csr_object(cn: str, *, orgs: tuple[str, ...] = ("system:nodes",), signer: str = CLIENT,
               usages: tuple[str, ...] = ("digital signature", "client auth"),
               sans: tuple[x509.GeneralName, ...] = (), requester: str = "",
               groups: tuple[str, ...] = (), seconds: int | None = None) -> Object:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([*(x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    builder = x509.CertificateSigningRequestBuilder().subject_name(name)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    pem = builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
    spec: Object = {"request": base64.b64encode(pem).decode(), "signerName": signer,
                    "usages": list(usages), "username": requester, "groups": list(groups)}
    if seconds is not None:
        spec["expirationSeconds"] = seconds
    return {"metadata": {"name": "c"}, "spec": spec}


def reason(obj: Object) -> str:
    return approval_reason(req.parse(obj))


def test_bootstrappers_get_node_client_certificates_approved() -> None:
    obj = csr_object("system:node:a", requester="system:bootstrap:abcdef",
                     groups=("system:bootstrappers", "system:authenticated"))
    assert "kubelet client certificate" in reason(obj)


def test_a_node_renews_only_its_own_client_certificate() -> None:
    groups = ("system:nodes", "system:authenticated")
    assert "self kubelet client" in reason(
        csr_object("system:node:a", requester="system:node:a", groups=groups))
    assert reason(csr_object("system:node:b", requester="system:node:a", groups=groups)) == ""


BOOTSTRAPPER = "system:bootstrap:x"
BOOTSTRAPPERS = ("system:bootstrappers",)
NODES = ("system:nodes", "system:authenticated")
SERVING_USAGES = ("digital signature", "server auth")


def test_malformed_or_foreign_requests_wait_for_a_person() -> None:
    for obj in (
        csr_object("admin", requester=BOOTSTRAPPER, groups=BOOTSTRAPPERS),
        csr_object("system:node:a", orgs=("system:masters",), requester=BOOTSTRAPPER,
                   groups=BOOTSTRAPPERS),
        csr_object("system:node:a", usages=("server auth",), requester=BOOTSTRAPPER,
                   groups=BOOTSTRAPPERS),
        csr_object("system:node:a", signer="example.com/x", requester=BOOTSTRAPPER,
                   groups=BOOTSTRAPPERS),
        csr_object("system:node:a", requester="someone", groups=("system:authenticated",)),
    ):
        assert reason(obj) == ""


def test_serving_certificates_go_to_the_node_they_name() -> None:
    sans = (x509.DNSName("a"), x509.IPAddress(ipaddress.ip_address("127.0.0.9")))
    assert "serving" in reason(csr_object("system:node:a", requester="system:node:a",
                                          groups=NODES, signer=SERVING, sans=sans,
                                          usages=SERVING_USAGES))
    assert reason(csr_object("system:node:a", requester=BOOTSTRAPPER, groups=BOOTSTRAPPERS,
                             signer=SERVING, sans=sans, usages=SERVING_USAGES)) == ""
    assert reason(csr_object("system:node:a", requester="system:node:a", groups=NODES,
                             signer=SERVING, usages=SERVING_USAGES)) == ""


def authority() -> _Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-ca")])
    start = datetime.datetime.fromtimestamp(NOW - 10, tz=datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1).not_valid_before(start)
            .not_valid_after(start + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return _Authority(cert, key)


def test_the_signer_issues_what_was_asked_for_the_time_allowed() -> None:
    ca = authority()
    request = req.parse(csr_object("system:node:a", seconds=3600))
    cert = x509.load_pem_x509_certificate(sign(request, ca, now=NOW, max_seconds=86400))
    cert.verify_directly_issued_by(ca.cert)
    assert cert.subject == request.csr.subject
    assert cert.not_valid_after_utc.timestamp() == NOW + 3600
    assert cert.not_valid_before_utc.timestamp() == NOW - 300
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    capped = req.parse(csr_object("system:node:a", seconds=10 ** 8))
    long = x509.load_pem_x509_certificate(sign(capped, ca, now=NOW, max_seconds=86400))
    assert long.not_valid_after_utc.timestamp() == NOW + 86400


def test_serving_certificates_carry_the_requested_names() -> None:
    sans = (x509.DNSName("node-a"),)
    request = req.parse(csr_object("system:node:a", signer=SERVING, sans=sans,
                                   usages=("digital signature", "server auth")))
    cert = x509.load_pem_x509_certificate(sign(request, authority(), now=NOW, max_seconds=600))
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert list(names) == list(sans)


def test_the_signer_refuses_superusers_and_misshapen_node_requests() -> None:
    client = ("client auth",)
    assert request_problem(req.parse(csr_object(
        "eve", orgs=("system:masters",), signer=req.KUBE_CLIENT_SIGNER, usages=client)))
    assert request_problem(req.parse(csr_object(
        "alice", orgs=(), signer=req.KUBE_CLIENT_SIGNER, usages=client))) == ""
    assert "organization" in request_problem(req.parse(csr_object(
        "system:node:a", orgs=("system:masters",))))
    assert "not a signer" in request_problem(req.parse(csr_object(
        "x", signer="example.com/other")))


def stamped(created: str, *conditions: tuple[str, str], certificate: bytes = b"") -> Object:
    obj: Object = {"metadata": {"name": "c", "creationTimestamp": created},
                   "status": {"conditions": [{"type": kind, "lastUpdateTime": at}
                                             for kind, at in conditions]}}
    if certificate:
        obj["status"]["certificate"] = base64.b64encode(certificate).decode()
    return obj


def test_the_cleaner_keeps_decided_requests_an_hour_and_pending_ones_a_day() -> None:
    created = "2027-01-15T08:00:00Z"  # NOW
    assert expires_at(stamped(created)) == NOW + 86400
    assert expires_at(stamped(created, ("Approved", "2027-01-15T08:10:00Z"))) == NOW + 600 + 3600
    assert expires_at(stamped(created, ("Denied", "2027-01-15T08:00:00Z"))) == NOW + 3600
    assert expires_at({"metadata": {"name": "c"}}) is None


def test_the_cleaner_drops_a_request_whose_certificate_expired() -> None:
    ca = authority()
    request = req.parse(csr_object("system:node:a", seconds=600))
    pem = sign(request, ca, now=NOW, max_seconds=86400)
    obj = stamped("2027-01-15T08:00:00Z", ("Approved", "2027-01-15T08:00:00Z"), certificate=pem)
    assert expires_at(obj) == NOW + 600
