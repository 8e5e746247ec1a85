"""TLS termination: certificates from ``kubernetes.io/tls`` Secrets, chosen by SNI.

:func:`tls_hosts` reads the ``spec.tls`` entries of the served Ingresses (oldest first;
an entry without ``hosts`` covers its Ingress's rule hosts, as ingress-nginx does) into
host → Secret; :class:`Certificates` maps a server name to an ``ssl.SSLContext`` (exact
name, then one-label wildcard, then the default certificate — a self-signed "fake"
certificate made at start, as ingress-nginx's). A context is built once per Secret
revision (:class:`ContextCache`), so a changed Secret is picked up by the next handshake
while connections already established keep theirs. A Secret that is missing, of another
type or unreadable is logged and the host gets the default certificate.

Private keys are loaded through an anonymous memory file (``memfd_create``), never written
to disk.
"""

from __future__ import annotations

import datetime
import logging
import os
import ssl
from base64 import b64decode
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

log = logging.getLogger(__name__)
Object = dict[str, Any]
TLS_SECRET_TYPE = "kubernetes.io/tls"
SSL_REDIRECT = "nginx.ingress.kubernetes.io/ssl-redirect"


@dataclass(frozen=True, slots=True)
class TLSHost:
    host: str
    secret: str  # "namespace/name", or "" for the default certificate
    redirect: bool


def tls_hosts(ingresses: Iterable[Object]) -> list[TLSHost]:
    """The TLS hosts of ``ingresses`` (oldest first wins a host)."""
    seen: dict[str, TLSHost] = {}
    for ingress in ingresses:
        metadata = ingress["metadata"]
        namespace = str(metadata.get("namespace") or "default")
        redirect = (metadata.get("annotations") or {}).get(SSL_REDIRECT, "true") != "false"
        spec = ingress.get("spec") or {}
        rule_hosts = [str(r["host"]) for r in spec.get("rules") or [] if r.get("host")]
        for entry in spec.get("tls") or []:
            secret = f"{namespace}/{entry['secretName']}" if entry.get("secretName") else ""
            for host in entry.get("hosts") or rule_hosts:
                seen.setdefault(host.lower(), TLSHost(host.lower(), secret, redirect))
    return list(seen.values())


class Certificates:
    """Server name → SSL context: exact, then wildcard, then the default certificate."""

    def __init__(self, default: ssl.SSLContext,
                 by_host: Mapping[str, ssl.SSLContext] | None = None) -> None:
        self.default = default
        self._exact = {h: c for h, c in (by_host or {}).items() if not h.startswith("*.")}
        self._wildcard = {h[2:]: c for h, c in (by_host or {}).items() if h.startswith("*.")}

    def for_name(self, server_name: str | None) -> ssl.SSLContext:
        if not server_name:
            return self.default
        name = server_name.lower()
        found = self._exact.get(name) or self._wildcard.get(name.partition(".")[2])
        return found or self.default


class ContextCache:
    """SSL contexts per Secret revision, so unchanged Secrets are not reloaded."""

    def __init__(self) -> None:
        self._contexts: dict[str, tuple[str, ssl.SSLContext]] = {}

    def certificates(self, default: ssl.SSLContext, hosts: Iterable[TLSHost],
                     secrets: Mapping[str, Object]) -> Certificates:
        by_host: dict[str, ssl.SSLContext] = {}
        used: set[str] = set()
        for entry in hosts:
            context = self._context(entry.secret, secrets.get(entry.secret))
            if context is not None:
                by_host[entry.host] = context
                used.add(entry.secret)
        for key in set(self._contexts) - used:
            del self._contexts[key]
        return Certificates(default, by_host)

    def _context(self, key: str, secret: Object | None) -> ssl.SSLContext | None:
        if not key:
            return None
        if secret is None:
            log.warning("ingress TLS secret %s not found; serving the default certificate", key)
            return None
        revision = str(secret["metadata"].get("resourceVersion") or "")
        cached = self._contexts.get(key)
        if cached is not None and cached[0] == revision:
            return cached[1]
        try:
            context = _secret_context(secret)
        except (ValueError, ssl.SSLError) as err:
            log.warning("ingress TLS secret %s unusable (%s); serving the default "
                        "certificate", key, err)
            return None
        self._contexts[key] = (revision, context)
        return context


def _secret_context(secret: Object) -> ssl.SSLContext:
    if secret.get("type") != TLS_SECRET_TYPE:
        raise ValueError(f"type is {secret.get('type')!r}, not {TLS_SECRET_TYPE}")
    data = secret.get("data") or {}
    if not data.get("tls.crt") or not data.get("tls.key"):
        raise ValueError("tls.crt and tls.key are required")
    return server_context(b64decode(data["tls.crt"]), b64decode(data["tls.key"]))


def server_context(cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    """A server-side TLS context for one certificate chain and key (HTTP/1.1 only)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    fd = os.memfd_create("steersman-ingress-tls", os.MFD_CLOEXEC)
    try:
        os.write(fd, cert_pem.rstrip() + b"\n" + key_pem)
        context.load_cert_chain(f"/proc/self/fd/{fd}")
    finally:
        os.close(fd)
    return context


def self_signed(common_name: str, *, now: datetime.datetime | None = None,
                hosts: Iterable[str] = ()) -> tuple[bytes, bytes]:
    """A self-signed certificate and its key (PEM), valid for a year from ``now``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = now or datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start - datetime.timedelta(minutes=5))
               .not_valid_after(start + datetime.timedelta(days=365)))
    names = [x509.DNSName(host) for host in hosts]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(key, hashes.SHA256())
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def default_context() -> ssl.SSLContext:
    """The certificate served when no Secret covers the name (ingress-nginx's fake one)."""
    return server_context(*self_signed("Kubernetes Ingress Controller Fake Certificate"))


class RedirectHosts:
    """Hosts whose plain-HTTP requests get a 308 to HTTPS (exact names and wildcards)."""

    def __init__(self, hosts: Iterable[TLSHost]) -> None:
        patterns = [entry.host for entry in hosts if entry.redirect]
        self._exact = frozenset(p for p in patterns if not p.startswith("*."))
        self._wildcard = frozenset(p[2:] for p in patterns if p.startswith("*."))

    def __contains__(self, host: str) -> bool:
        return host in self._exact or (
            bool(self._wildcard) and host.partition(".")[2] in self._wildcard)
