"""The CSR signing controller: issue approved requests with the cluster CA.

kube-controller-manager's ``csrsigning`` with ``--cluster-signing-cert-file/-key-file``: for
an approved, not yet issued, not failed request to one of the signers below it checks the
request's shape, signs a certificate with the cluster CA and writes it to
``status.certificate`` through the ``status`` subresource. A request of the wrong shape
gets a ``Failed`` condition (reason ``SignerValidationFailure``) instead.

* ``kubernetes.io/kube-apiserver-client-kubelet``: node client certificates (clientAuth);
* ``kubernetes.io/kubelet-serving``: node serving certificates (serverAuth, the CSR's SANs);
* ``kubernetes.io/kube-apiserver-client``: any client certificate (clientAuth) except for
  the ``system:masters`` group.

The lifetime is ``spec.expirationSeconds`` capped by ``duration`` (one year by default, as
``--cluster-signing-duration``) and by the CA's own expiry; ``notBefore`` is backdated five
minutes against clock skew, as the upstream signer does.
"""

from __future__ import annotations

import base64
import datetime
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from steersman.api.errors import StatusError
from steersman.api.meta import now_rfc3339
from steersman.client import Client, Clock
from steersman.controllers.certificates import requests as req
from steersman.controllers.runtime import InformerFactory, QueueController

ONE_YEAR = 365 * 24 * 3600
BACKDATE = datetime.timedelta(minutes=5)


def _not_masters(request: req.Request) -> str:
    """Any client identity except the cluster-admin group: approving a request must not be
    a way to mint superusers."""
    if "system:masters" in request.organizations:
        return "the system:masters group is not issued through certificate signing requests"
    return ""


_CHECKS: dict[str, Callable[[req.Request], str]] = {
    req.KUBELET_CLIENT_SIGNER: req.kubelet_client_problem,
    req.KUBELET_SERVING_SIGNER: req.kubelet_serving_problem,
    req.KUBE_CLIENT_SIGNER: _not_masters,
}
_EXTENDED = {"client auth": ExtendedKeyUsageOID.CLIENT_AUTH,
             "server auth": ExtendedKeyUsageOID.SERVER_AUTH}
SigningKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


def request_problem(request: req.Request) -> str:
    """Why this signer will not sign ``request`` ("" when it will)."""
    check = _CHECKS.get(request.signer)
    return f"{request.signer} is not a signer of this cluster" if check is None else check(
        request)


@dataclass(frozen=True)
class ClusterSigning:
    """The CA files the signer signs with and the longest lifetime it grants (seconds)."""

    cert_file: Path
    key_file: Path
    duration: int = ONE_YEAR


@dataclass(frozen=True)
class _Authority:
    cert: x509.Certificate
    key: SigningKey


def _load_authority(signing: ClusterSigning) -> _Authority:
    cert = x509.load_pem_x509_certificate(signing.cert_file.read_bytes())
    key = serialization.load_pem_private_key(signing.key_file.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
                      | ed25519.Ed25519PrivateKey):
        raise ValueError(f"{signing.key_file} is not an EC, RSA or Ed25519 private key")
    return _Authority(cert, key)


def sign(request: req.Request, authority: _Authority, *, now: float,
         max_seconds: int) -> bytes:
    """A certificate (PEM) for ``request``, signed by ``authority``."""
    start = datetime.datetime.fromtimestamp(now, tz=datetime.UTC)
    seconds = min(request.expiration_seconds or max_seconds, max_seconds)
    end = min(start + datetime.timedelta(seconds=seconds), authority.cert.not_valid_after_utc)
    public_key = request.csr.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(request.csr.subject).issuer_name(authority.cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - BACKDATE).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(request.usages), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            authority.key.public_key()), critical=False))
    extended = [_EXTENDED[u] for u in sorted(request.usages) if u in _EXTENDED]
    if extended:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended), critical=False)
    if request.sans():
        builder = builder.add_extension(x509.SubjectAlternativeName(request.sans()),
                                        critical=False)
    algorithm = None if isinstance(authority.key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(authority.key, algorithm).public_bytes(serialization.Encoding.PEM)


def _key_usage(usages: frozenset[str]) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature="digital signature" in usages or "signing" in usages,
        content_commitment=False, key_encipherment="key encipherment" in usages,
        data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
        encipher_only=False, decipher_only=False)


class CSRSigningController(QueueController):
    name = "csrsigning"

    def __init__(self, client: Client, signing: ClusterSigning, *,
                 clock: Clock | None = None) -> None:
        super().__init__(client, clock=clock)
        self._signing = signing
        self._authority: _Authority | None = None

    def setup(self, factory: InformerFactory) -> None:
        self._csrs = factory.informer(req.CSRS)
        self._csrs.add_handlers(on_add=self.enqueue, on_update=lambda _, new: self.enqueue(new))

    async def reconcile(self, key: str) -> float | None:
        obj = self._csrs.indexer.get(key)
        if obj is None or not self._wants_signing(obj):
            return None
        try:
            request = req.parse(obj)
        except ValueError as err:
            await self._write(obj, failure=f"the request is not a valid CSR: {err}")
            return None
        problem = request_problem(request)
        if problem:
            await self._write(obj, failure=f"invalid {request.signer} request: {problem}")
            return None
        if self._authority is None:
            self._authority = _load_authority(self._signing)
        pem = sign(request, self._authority, now=self.clock.now(),
                   max_seconds=self._signing.duration)
        await self._write(obj, certificate=pem)
        return None

    @staticmethod
    def _wants_signing(obj: req.Object) -> bool:
        signer = (obj.get("spec") or {}).get("signerName")
        return (signer in _CHECKS and req.condition(obj, "Approved")
                and not req.condition(obj, "Failed") and not req.issued(obj))

    async def _write(self, obj: req.Object, *, certificate: bytes = b"",
                     failure: str = "") -> None:
        status = dict(obj.get("status") or {})
        if certificate:
            status["certificate"] = base64.b64encode(certificate).decode()
        else:
            status["conditions"] = [*(status.get("conditions") or []), {
                "type": "Failed", "status": "True", "reason": "SignerValidationFailure",
                "message": failure, "lastUpdateTime": now_rfc3339(self.clock.now())}]
        try:
            await self.client.update_status(req.CSRS, {**obj, "status": status})
        except StatusError as err:
            if err.code not in (404, 409):
                raise
