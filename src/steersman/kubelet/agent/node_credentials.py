"""A joined node's credentials on disk: CA, client and serving certificates, kubeconfig.

Layout under the agent's data dir (directory 0700, every file 0600, each written
atomically — temporary file, then rename — so a crash never leaves half a key)::

    kubelet.kubeconfig          server, CA and client certificate of system:node:<name>
    pki/ca.crt                  the cluster CA, pinned by the join token's hash
    pki/kubelet-client.{crt,key}    CN system:node:<name>, O system:nodes (clientAuth)
    pki/kubelet-serving.{crt,key}   the streaming server's certificate (serverAuth)

The kubeconfig names the files by relative path, so a renewed client certificate is picked
up by every later reader without rewriting it. :func:`new_key_and_request` makes the key
and the PKCS#10 request a CertificateSigningRequest carries. Pure file and crypto work; the
exchange with the API server is :mod:`.join`'s.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from steersman.client.files import write_file_atomically

NODES_GROUP = "system:nodes"
NODE_USER_PREFIX = "system:node:"
PRIVATE = 0o600


@dataclass(frozen=True)
class NodeCredentials:
    """Where one node's credentials live (nothing is read or written by this value)."""

    data_dir: Path

    @property
    def pki(self) -> Path:
        return self.data_dir / "pki"

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "kubelet.kubeconfig"

    @property
    def ca_cert(self) -> Path:
        return self.pki / "ca.crt"

    @property
    def client_cert(self) -> Path:
        return self.pki / "kubelet-client.crt"

    @property
    def client_key(self) -> Path:
        return self.pki / "kubelet-client.key"

    @property
    def serving_cert(self) -> Path:
        return self.pki / "kubelet-serving.crt"

    @property
    def serving_key(self) -> Path:
        return self.pki / "kubelet-serving.key"


def write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``, 0600 from the first byte, in a 0700 directory."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_file_atomically(path, data, mode=PRIVATE)


def node_user(node_name: str) -> str:
    return NODE_USER_PREFIX + node_name


def new_key_and_request(node_name: str, *, hosts: Sequence[str] = ()) -> tuple[bytes, bytes]:
    """A new P-256 key and a CSR for ``system:node:<name>`` in ``system:nodes`` (PEM both).

    ``hosts`` (IPs or DNS names) become subject alternative names: a serving request.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, NODES_GROUP),
                         x509.NameAttribute(NameOID.COMMON_NAME, node_user(node_name))])
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    if hosts:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_san(h) for h in dict.fromkeys(hosts)]), critical=False)
    csr = builder.sign(key, hashes.SHA256())
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem, csr.public_bytes(serialization.Encoding.PEM)


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def load_certificate(path: Path) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (FileNotFoundError, ValueError):
        return None


def renew_at(cert: x509.Certificate) -> float:
    """When to replace ``cert``: at 80% of its lifetime (the kubelet picks 70 to 90%)."""
    start = cert.not_valid_before_utc.timestamp()
    return start + 0.8 * (cert.not_valid_after_utc.timestamp() - start)


def usable_certificate(cert_path: Path, key_path: Path, *, common_name: str, now: float,
                       ca_pem: bytes) -> x509.Certificate | None:
    """The certificate at ``cert_path`` if it is ours, signed by the CA and still valid."""
    cert = load_certificate(cert_path)
    if cert is None or not key_path.exists():
        return None
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names or names[0].value != common_name:
        return None
    try:
        cert.verify_directly_issued_by(x509.load_pem_x509_certificate(ca_pem))
    except (ValueError, TypeError, InvalidSignature):
        return None
    moment = datetime.datetime.fromtimestamp(now, tz=datetime.UTC)
    if not cert.not_valid_before_utc <= moment < cert.not_valid_after_utc:
        return None
    return cert


def names_all(cert: x509.Certificate, hosts: Sequence[str]) -> bool:
    """Whether ``cert``'s subject alternative names include every one of ``hosts``."""
    try:
        present = list(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        return not hosts
    return all(_san(host) in present for host in hosts)


def write_kubeconfig(credentials: NodeCredentials, *, server: str, node_name: str) -> None:
    """The node's kubeconfig: the pinned CA and the client certificate files, by path."""
    user = node_user(node_name)
    config = {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": "steersman", "cluster": {
            "server": server, "certificate-authority": "pki/ca.crt"}}],
        "users": [{"name": user, "user": {"client-certificate": "pki/kubelet-client.crt",
                                          "client-key": "pki/kubelet-client.key"}}],
        "contexts": [{"name": "default", "context": {"cluster": "steersman", "user": user}}],
        "current-context": "default",
    }
    write_private(credentials.kubeconfig, yaml.safe_dump(config, sort_keys=False).encode())


def stored_server(credentials: NodeCredentials) -> str:
    """The server URL in the node's kubeconfig ("" when there is none)."""
    try:
        config = yaml.safe_load(credentials.kubeconfig.read_text()) or {}
        return str(config["clusters"][0]["cluster"]["server"])
    except (OSError, yaml.YAMLError, KeyError, IndexError, TypeError):
        return ""


def client_ssl_context(credentials: NodeCredentials) -> ssl.SSLContext:
    """TLS to the API server: the pinned CA only, and the node's client certificate.

    Loading a renewed certificate into this same context (:meth:`ssl.SSLContext.
    load_cert_chain`) makes every new connection present it.
    """
    context = ssl.create_default_context(cafile=str(credentials.ca_cert))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(credentials.client_cert, credentials.client_key)
    return context
