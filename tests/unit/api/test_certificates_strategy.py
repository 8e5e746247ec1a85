"""CertificateSigningRequest validation and its ``kubectl get csr`` row."""

from __future__ import annotations

import base64
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from steersman.api.printers import row_cells
from steersman.api.strategies import strategy_for

Object = dict[str, Any]
STRATEGY = strategy_for("certificates.k8s.io", "CertificateSigningRequest")


def request_pem(common_name: str = "system:node:a") -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, common_name)])).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM)


def csr(**spec: Any) -> Object:
    base = {"request": base64.b64encode(request_pem()).decode(),
            "signerName": "kubernetes.io/kube-apiserver-client-kubelet",
            "usages": ["digital signature", "client auth"]}
    return {"metadata": {"name": "c"}, "spec": {**base, **spec}}


def fields(obj: Object) -> list[str]:
    return [f"{e.field}: {e.message}" for e in STRATEGY.validate(obj)]


def test_a_well_formed_request_is_valid() -> None:
    assert fields(csr()) == []
    assert fields(csr(signerName="example.com/my-signer", expirationSeconds=600)) == []


def test_bad_requests_are_rejected_with_their_field() -> None:
    assert fields(csr(request=base64.b64encode(b"not pem").decode())) == [
        "spec.request: Invalid value: \"<the request>\": PEM block type must be "
        "CERTIFICATE REQUEST"]
    assert any(f.startswith("spec.signerName: Required") for f in fields(csr(signerName="")))
    assert any(f.startswith("spec.signerName: Invalid") for f in fields(csr(signerName="nope")))
    assert any(f.startswith("spec.usages[0]: Unsupported") for f in fields(csr(usages=["fly"])))
    assert any(f.startswith("spec.expirationSeconds") for f in fields(csr(expirationSeconds=5)))


def test_approved_and_denied_exclude_each_other() -> None:
    obj = csr()
    obj["status"] = {"conditions": [{"type": "Approved"}, {"type": "Denied"}]}
    assert any("mutually exclusive" in f for f in fields(obj))


def test_the_spec_is_immutable() -> None:
    old = csr()
    new = {**old, "spec": {**old["spec"], "usages": ["server auth"]}}
    assert [e.field for e in STRATEGY.validate_update(new, old)] == ["spec"]
    assert STRATEGY.validate_update(dict(old), old) == []


def test_kubectl_get_csr_columns() -> None:
    obj = csr(expirationSeconds=3600)
    obj["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z"
    obj["spec"]["username"] = "system:bootstrap:abcdef"
    obj["status"] = {"conditions": [{"type": "Approved"}], "certificate": "Y2VydA=="}
    cells = row_cells("certificates.k8s.io", "CertificateSigningRequest", obj,
                      1_767_225_600.0 + 60)
    assert cells[2:] == ["kubernetes.io/kube-apiserver-client-kubelet",
                         "system:bootstrap:abcdef", "60m", "Approved,Issued"]
    obj["status"] = {}
    assert row_cells("certificates.k8s.io", "CertificateSigningRequest", obj, 0)[-1] == "Pending"
