"""The cluster's certificates and the admin token, created on first start and reused after.

Contract:

* :func:`ensure_pki` owns one directory (mode 0700) holding an ECDSA P-256 CA
  (``steersman-ca``, 10 years), the API server's serving certificate (1 year, serverAuth,
  SANs for loopback, ``localhost``, the in-cluster ``kubernetes.default…`` names and any
  extra hosts) and the admin client certificate (CN ``steersman-admin``, O
  ``system:masters``, clientAuth). Existing files are reused; a leaf is reissued when it is
  missing, not signed by the current CA, expires within 30 days or, for the serving
  certificate, lacks a requested SAN. A CA is made when its certificate is missing; a CA
  certificate without its matching key is an error, never silently replaced: every
  kubeconfig and agent trusts it.
* Keys are written 0600 and certificates 0644, each atomically (temporary file + rename),
  under an exclusive lock so concurrent starts do not interleave.
* :func:`server_ssl_context` builds the API server's TLS context: TLS 1.2+, ECDHE-AEAD
  ciphers, client certificates optional but verified against the CA, so aiohttp exposes
  them through ``request.transport.get_extra_info("peercert")`` for :mod:`.authn`.
* :func:`issue_serving_certificate` signs a serving certificate for other hosts — a node
  agent's streaming server on port 10250, whose SANs must name the address the API server
  dials (the Node's InternalIP). :func:`kubelet_client_ssl_context` is the API server's side
  of that hop: it presents ``apiserver-kubelet-client.crt`` (CN
  ``kube-apiserver-kubelet-client``, O ``system:masters``, kept and renewed like the admin
  certificate) and trusts only the cluster CA, hostname checked.
* :func:`ensure_admin_token` keeps a random bearer token for the admin in ``admin.token``.
* :func:`ensure_service_account_key` keeps the P-256 key service-account tokens are signed
  with in ``sa.key`` (0600); like the CA key, an unreadable one is an error, never replaced,
  since replacing it would invalidate every token issued.

Neighbours: :mod:`.kubeconfig` embeds the CA and admin credentials this module produces;
:mod:`.authn` turns verified certificates and tokens into users.
"""

from __future__ import annotations

import datetime
import fcntl
import hashlib
import ipaddress
import os
import secrets
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from steersman.client.files import write_file_atomically

Clock = Callable[[], float]
SanName = x509.DNSName | x509.IPAddress

CA_COMMON_NAME = "steersman-ca"
ADMIN_COMMON_NAME = "steersman-admin"
ADMIN_ORGANIZATION = "system:masters"
SERVER_COMMON_NAME = "steersman-apiserver"
KUBELET_CLIENT_COMMON_NAME = "kube-apiserver-kubelet-client"
DEFAULT_SANS: tuple[str, ...] = (
    "127.0.0.1",
    "::1",
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)
CA_DAYS = 3650
LEAF_DAYS = 365
RENEW_BEFORE = datetime.timedelta(days=30)
# Backdating absorbs small clock differences between this machine and its clients.
BACKDATE = datetime.timedelta(minutes=5)
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"
KEY_MODE = 0o600
CERT_MODE = 0o644
DIR_MODE = 0o700


class PkiError(Exception):
    """The PKI directory is in a state this module refuses to repair on its own."""


@dataclass(frozen=True)
class Pki:
    """Paths of the files in a PKI directory made by :func:`ensure_pki`."""

    directory: Path
    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    admin_cert: Path
    admin_key: Path

    @classmethod
    def at(cls, directory: Path) -> Pki:
        """The file layout under ``directory`` (nothing is read or created)."""
        return cls(
            directory=directory,
            ca_cert=directory / "ca.crt",
            ca_key=directory / "ca.key",
            server_cert=directory / "server.crt",
            server_key=directory / "server.key",
            admin_cert=directory / "admin.crt",
            admin_key=directory / "admin.key",
        )


@dataclass(frozen=True)
class _Authority:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


# -- files ------------------------------------------------------------------------------


def _private_directory(directory: Path) -> None:
    directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    directory.chmod(DIR_MODE)


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    descriptor = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, KEY_MODE)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


# -- keys and certificates ------------------------------------------------------------------


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _name(common_name: str, organizations: Sequence[str] = ()) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        key_cert_sign=ca,
        crl_sign=ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        encipher_only=False,
        decipher_only=False,
    )


def _builder(
    *,
    subject: x509.Name,
    issuer: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    days: int,
    clock: Clock,
) -> x509.CertificateBuilder:
    now = datetime.datetime.fromtimestamp(clock(), tz=datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )


def _new_authority(*, clock: Clock) -> _Authority:
    key = _new_key()
    name = _name(CA_COMMON_NAME)
    cert = (
        _builder(subject=name, issuer=name, key=key, days=CA_DAYS, clock=clock)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .sign(key, hashes.SHA256())
    )
    return _Authority(cert=cert, key=key)


def _leaf(
    authority: _Authority,
    *,
    subject: x509.Name,
    usage: x509.ObjectIdentifier,
    sans: Sequence[SanName] = (),
    days: int,
    clock: Clock,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A new key and an end-entity certificate for it, signed by ``authority``."""
    key = _new_key()
    issuer_key_id = x509.AuthorityKeyIdentifier.from_issuer_public_key(authority.key.public_key())
    builder = (
        _builder(subject=subject, issuer=authority.cert.subject, key=key, days=days, clock=clock)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(issuer_key_id, critical=False)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    return builder.sign(authority.key, hashes.SHA256()), key


# -- subject alternative names ------------------------------------------------------------------


def _san(host: str) -> SanName:
    """An IP SAN for an address (``[::1]`` brackets allowed), else a DNS SAN."""
    text = host.strip()
    try:
        return x509.IPAddress(ipaddress.ip_address(text.removeprefix("[").removesuffix("]")))
    except ValueError:
        return x509.DNSName(text.lower().rstrip("."))


def _requested_sans(hosts: Sequence[str]) -> list[SanName]:
    sans: list[SanName] = []
    for host in (*DEFAULT_SANS, *hosts):
        san = _san(host)
        if san not in sans:
            sans.append(san)
    return sans


def _present_sans(cert: x509.Certificate) -> list[x509.GeneralName]:
    try:
        extension = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return list(extension.value)


# -- loading and checking ---------------------------------------------------------------------


def _load_cert(path: Path) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (FileNotFoundError, ValueError):
        return None


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey | None:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (FileNotFoundError, ValueError, TypeError):
        return None
    return key if isinstance(key, ec.EllipticCurvePrivateKey) else None


def _same_public_key(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> bool:
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    return cert.public_key().public_bytes(der, spki) == key.public_key().public_bytes(der, spki)


def _issued_by(cert: x509.Certificate, authority: _Authority) -> bool:
    try:
        cert.verify_directly_issued_by(authority.cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _fresh(cert: x509.Certificate, *, clock: Clock) -> bool:
    now = datetime.datetime.fromtimestamp(clock(), tz=datetime.UTC)
    return cert.not_valid_before_utc <= now and cert.not_valid_after_utc - RENEW_BEFORE > now


def _usable_leaf(
    cert_path: Path, key_path: Path, authority: _Authority, *, clock: Clock
) -> x509.Certificate | None:
    """The certificate at ``cert_path`` if it can be kept as is, else None."""
    cert, key = _load_cert(cert_path), _load_key(key_path)
    if cert is None or key is None or not _same_public_key(cert, key):
        return None
    if not _issued_by(cert, authority) or not _fresh(cert, clock=clock):
        return None
    key_path.chmod(KEY_MODE)
    return cert


# -- the PKI directory ------------------------------------------------------------------------


def _write_pair(
    cert_path: Path, key_path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> None:
    # The key goes first: a crash in between leaves a mismatched pair, which is reissued.
    write_file_atomically(key_path, _key_pem(key), mode=KEY_MODE)
    write_file_atomically(cert_path, _cert_pem(cert), mode=CERT_MODE)


def _ensure_authority(pki: Pki, *, clock: Clock) -> _Authority:
    # The key is written before the certificate and nothing is signed before both exist, so
    # a key without a certificate is the trace of an interrupted first start.
    if not pki.ca_cert.exists():
        authority = _new_authority(clock=clock)
        _write_pair(pki.ca_cert, pki.ca_key, authority.cert, authority.key)
        return authority
    cert, key = _load_cert(pki.ca_cert), _load_key(pki.ca_key)
    if cert is None or key is None or not _same_public_key(cert, key):
        raise PkiError(
            f"{pki.ca_cert} and {pki.ca_key} are not a matching certificate and key; "
            "restore them, or remove both (and every credential they signed) to start over"
        )
    pki.ca_key.chmod(KEY_MODE)
    return _Authority(cert=cert, key=key)


def _ensure_server(pki: Pki, authority: _Authority, hosts: Sequence[str], *, clock: Clock) -> None:
    sans = _requested_sans(hosts)
    cert = _usable_leaf(pki.server_cert, pki.server_key, authority, clock=clock)
    if cert is not None and all(san in _present_sans(cert) for san in sans):
        return
    cert, key = _leaf(
        authority,
        subject=_name(SERVER_COMMON_NAME),
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
        sans=sans,
        days=LEAF_DAYS,
        clock=clock,
    )
    _write_pair(pki.server_cert, pki.server_key, cert, key)


def _ensure_admin(pki: Pki, authority: _Authority, *, clock: Clock) -> None:
    if _usable_leaf(pki.admin_cert, pki.admin_key, authority, clock=clock) is not None:
        return
    cert, key = _leaf(
        authority,
        subject=_name(ADMIN_COMMON_NAME, [ADMIN_ORGANIZATION]),
        usage=ExtendedKeyUsageOID.CLIENT_AUTH,
        days=LEAF_DAYS,
        clock=clock,
    )
    _write_pair(pki.admin_cert, pki.admin_key, cert, key)


def ensure_pki(
    directory: Path,
    *,
    hosts: Sequence[str] = ("127.0.0.1", "localhost"),
    clock: Clock = time.time,
) -> Pki:
    """Create, check or renew the CA, serving and admin certificates under ``directory``."""
    pki = Pki.at(directory)
    _private_directory(directory)
    with _locked(directory):
        authority = _ensure_authority(pki, clock=clock)
        _ensure_server(pki, authority, hosts, clock=clock)
        _ensure_admin(pki, authority, clock=clock)
    return pki


def _load_authority(pki: Pki) -> _Authority:
    cert, key = _load_cert(pki.ca_cert), _load_key(pki.ca_key)
    if cert is None or key is None:
        raise PkiError(f"no usable CA in {pki.directory}; run ensure_pki first")
    return _Authority(cert=cert, key=key)


def issue_client_certificate(
    pki: Pki,
    *,
    common_name: str,
    organizations: Sequence[str],
    days: int = LEAF_DAYS,
    clock: Clock = time.time,
) -> tuple[bytes, bytes]:
    """A new client certificate (CN = user, O = groups) signed by the CA: (cert PEM, key PEM)."""
    if not common_name:
        raise ValueError("a client certificate needs a common name (the user name)")
    if days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    cert, key = _leaf(
        _load_authority(pki),
        subject=_name(common_name, organizations),
        usage=ExtendedKeyUsageOID.CLIENT_AUTH,
        days=days,
        clock=clock,
    )
    return _cert_pem(cert), _key_pem(key)


def issue_serving_certificate(
    pki: Pki,
    *,
    common_name: str,
    hosts: Sequence[str],
    days: int = LEAF_DAYS,
    clock: Clock = time.time,
) -> tuple[bytes, bytes]:
    """A new serving certificate for ``hosts`` (IPs or names) signed by the CA: (cert, key)."""
    if not hosts:
        raise ValueError("a serving certificate needs at least one host")
    cert, key = _leaf(
        _load_authority(pki),
        subject=_name(common_name),
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
        sans=list(dict.fromkeys(_san(host) for host in hosts)),
        days=days,
        clock=clock,
    )
    return _cert_pem(cert), _key_pem(key)


def _ensure_kubelet_client(pki: Pki, *, clock: Clock) -> tuple[Path, Path]:
    cert_path = pki.directory / "apiserver-kubelet-client.crt"
    key_path = pki.directory / "apiserver-kubelet-client.key"
    with _locked(pki.directory):
        authority = _load_authority(pki)
        if _usable_leaf(cert_path, key_path, authority, clock=clock) is None:
            cert, key = _leaf(
                authority,
                subject=_name(KUBELET_CLIENT_COMMON_NAME, [ADMIN_ORGANIZATION]),
                usage=ExtendedKeyUsageOID.CLIENT_AUTH,
                days=LEAF_DAYS,
                clock=clock,
            )
            _write_pair(cert_path, key_path, cert, key)
    return cert_path, key_path


def kubelet_client_ssl_context(pki: Pki, *, clock: Clock = time.time) -> ssl.SSLContext:
    """The API server's TLS context for node agents: its kubelet-client certificate, CA only."""
    cert_path, key_path = _ensure_kubelet_client(pki, clock=clock)
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(pki.ca_cert))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile=cert_path, keyfile=key_path)
    return context


def ca_hash(pki: Pki) -> str:
    """``sha256:<hex>`` of the CA's SubjectPublicKeyInfo, as kubeadm's discovery hash."""
    cert = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "sha256:" + hashlib.sha256(spki).hexdigest()


def server_ssl_context(pki: Pki) -> ssl.SSLContext:
    """The API server's TLS context: client certificates optional, verified when sent."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(TLS12_CIPHERS)
    context.load_cert_chain(certfile=pki.server_cert, keyfile=pki.server_key)
    context.load_verify_locations(cafile=pki.ca_cert)
    context.verify_mode = ssl.CERT_OPTIONAL
    return context


# -- admin token --------------------------------------------------------------------------------


def ensure_admin_token(directory: Path) -> str:
    """The admin bearer token kept in ``directory/admin.token`` (0600), made on first call."""
    _private_directory(directory)
    path = directory / "admin.token"
    with _locked(directory):
        try:
            token = path.read_text().strip()
        except FileNotFoundError:
            token = ""
        if token:
            path.chmod(KEY_MODE)
            return token
        token = secrets.token_urlsafe(32)
        write_file_atomically(path, token.encode() + b"\n", mode=KEY_MODE)
        return token


def ensure_service_account_key(directory: Path) -> ec.EllipticCurvePrivateKey:
    """The service-account token signing key in ``directory/sa.key`` (0600), made on first call."""
    _private_directory(directory)
    path = directory / "sa.key"
    with _locked(directory):
        key = _load_key(path)
        if key is None and path.exists():
            raise PkiError(f"{path} is not a readable EC private key; restore it or remove it "
                           "(removing it invalidates every service-account token issued)")
        if key is not None and not isinstance(key.curve, ec.SECP256R1):
            raise PkiError(f"{path} is not a P-256 key, which ES256 token signing needs")
        if key is not None:
            path.chmod(KEY_MODE)
            return key
        key = _new_key()
        write_file_atomically(path, _key_pem(key), mode=KEY_MODE)
        return key
