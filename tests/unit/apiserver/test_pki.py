"""The cluster PKI: files and modes, certificate contents, reuse and renewal, real TLS."""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import ssl
import stat
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from steersman.apiserver.authn import Authenticator
from steersman.apiserver.pki import (
    Pki,
    PkiError,
    ca_hash,
    ensure_admin_token,
    ensure_pki,
    issue_client_certificate,
    server_ssl_context,
)

DAY = 86400.0


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def sans(cert: x509.Certificate) -> set[str]:
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    ips = {str(ip) for ip in names.get_values_for_type(x509.IPAddress)}
    return ips | set(names.get_values_for_type(x509.DNSName))


def usages(cert: x509.Certificate) -> list[x509.ObjectIdentifier]:
    return list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def subject(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> list[str]:
    return [str(attribute.value) for attribute in cert.subject.get_attributes_for_oid(oid)]


def contents(pki: Pki) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in pki.directory.iterdir()}


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return ensure_pki(tmp_path / "pki")


def test_files_and_modes(pki: Pki) -> None:
    assert mode(pki.directory) == 0o700
    for key in (pki.ca_key, pki.server_key, pki.admin_key):
        assert mode(key) == 0o600
    for cert in (pki.ca_cert, pki.server_cert, pki.admin_cert):
        assert mode(cert) == 0o644
    assert not [p for p in pki.directory.iterdir() if p.name.endswith(".tmp")]


def test_existing_directory_is_made_private(tmp_path: Path) -> None:
    directory = tmp_path / "pki"
    directory.mkdir(mode=0o755)
    ensure_pki(directory)
    assert mode(directory) == 0o700


def test_ca_is_a_ten_year_p256_authority(pki: Pki) -> None:
    ca = load(pki.ca_cert)
    assert subject(ca, NameOID.COMMON_NAME) == ["steersman-ca"]
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.public_key().curve.name == "secp256r1"  # type: ignore[union-attr]
    lifetime = ca.not_valid_after_utc - ca.not_valid_before_utc
    assert lifetime >= datetime.timedelta(days=3650)


def test_serving_certificate_names_and_usage(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path, hosts=("192.0.2.10", "API.Example.test", "[fd00::1]"))
    cert = load(pki.server_cert)
    assert sans(cert) == {
        "127.0.0.1",
        "::1",
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        "192.0.2.10",
        "api.example.test",
        "fd00::1",
    }
    assert usages(cert) == [ExtendedKeyUsageOID.SERVER_AUTH]
    cert.verify_directly_issued_by(load(pki.ca_cert))
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert datetime.timedelta(days=365) <= lifetime < datetime.timedelta(days=366)


def test_ip_hosts_become_ip_sans(pki: Pki) -> None:
    names = load(pki.server_cert).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert ipaddress.ip_address("127.0.0.1") in names.value.get_values_for_type(x509.IPAddress)
    assert "127.0.0.1" not in names.value.get_values_for_type(x509.DNSName)


def test_admin_certificate(pki: Pki) -> None:
    cert = load(pki.admin_cert)
    assert subject(cert, NameOID.COMMON_NAME) == ["steersman-admin"]
    assert subject(cert, NameOID.ORGANIZATION_NAME) == ["system:masters"]
    assert usages(cert) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    cert.verify_directly_issued_by(load(pki.ca_cert))


def test_second_call_reuses_everything(pki: Pki) -> None:
    before = contents(pki)
    assert ensure_pki(pki.directory) == pki
    assert contents(pki) == before


def test_new_host_reissues_only_the_serving_certificate(pki: Pki) -> None:
    before = contents(pki)
    ensure_pki(pki.directory, hosts=("127.0.0.1", "localhost", "node-1.example.test"))
    after = contents(pki)
    assert "node-1.example.test" in sans(load(pki.server_cert))
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"server.crt", "server.key"}


def test_hosts_already_covered_do_not_reissue(pki: Pki) -> None:
    before = contents(pki)
    ensure_pki(pki.directory, hosts=("::1", "kubernetes.default"))
    assert contents(pki) == before


def test_leaves_expiring_within_30_days_are_renewed(pki: Pki) -> None:
    before = contents(pki)
    ensure_pki(pki.directory, clock=lambda: time.time() + 340 * DAY)
    after = contents(pki)
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"server.crt", "server.key", "admin.crt", "admin.key"}


def test_leaves_of_a_replaced_ca_are_reissued(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path / "a")
    other = ensure_pki(tmp_path / "b")
    for path in (pki.ca_cert, pki.ca_key):
        path.write_bytes((other.directory / path.name).read_bytes())
    ensure_pki(pki.directory)
    load(pki.server_cert).verify_directly_issued_by(load(other.ca_cert))
    load(pki.admin_cert).verify_directly_issued_by(load(other.ca_cert))


def test_a_ca_certificate_without_its_key_is_refused(pki: Pki) -> None:
    pki.ca_key.unlink()
    with pytest.raises(PkiError, match="remove both"):
        ensure_pki(pki.directory)


def test_a_ca_key_left_by_an_interrupted_start_is_replaced(tmp_path: Path) -> None:
    directory = tmp_path / "pki"
    directory.mkdir()
    (directory / "ca.key").write_bytes(b"half written")
    pki = ensure_pki(directory)
    load(pki.server_cert).verify_directly_issued_by(load(pki.ca_cert))


def test_a_mismatched_ca_is_refused(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path / "a")
    other = ensure_pki(tmp_path / "b")
    pki.ca_key.write_bytes(other.ca_key.read_bytes())
    with pytest.raises(PkiError):
        ensure_pki(pki.directory)


def test_issue_client_certificate(pki: Pki) -> None:
    cert_pem, key_pem = issue_client_certificate(
        pki, common_name="system:node:n1", organizations=["system:nodes", "team-a"], days=30
    )
    cert = x509.load_pem_x509_certificate(cert_pem)
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert subject(cert, NameOID.COMMON_NAME) == ["system:node:n1"]
    assert subject(cert, NameOID.ORGANIZATION_NAME) == ["system:nodes", "team-a"]
    assert usages(cert) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert cert.public_key() == key.public_key()
    cert.verify_directly_issued_by(load(pki.ca_cert))
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert datetime.timedelta(days=30) <= lifetime < datetime.timedelta(days=31)


def test_issue_client_certificate_rejects_bad_arguments(pki: Pki) -> None:
    with pytest.raises(ValueError, match="common name"):
        issue_client_certificate(pki, common_name="", organizations=[])
    with pytest.raises(ValueError, match="days"):
        issue_client_certificate(pki, common_name="x", organizations=[], days=0)


def test_ca_hash_is_the_sha256_of_the_subject_public_key_info(pki: Pki) -> None:
    spki = (
        load(pki.ca_cert)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    assert ca_hash(pki) == "sha256:" + hashlib.sha256(spki).hexdigest()
    assert len(ca_hash(pki)) == len("sha256:") + 64


def test_admin_token_is_private_and_stable(tmp_path: Path) -> None:
    token = ensure_admin_token(tmp_path / "pki")
    assert len(token) >= 43
    assert mode(tmp_path / "pki" / "admin.token") == 0o600
    assert ensure_admin_token(tmp_path / "pki") == token
    assert ensure_admin_token(tmp_path / "other") != token


def test_server_ssl_context_settings(pki: Pki) -> None:
    context = server_ssl_context(pki)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_OPTIONAL
    assert all("ECDHE" in c["name"] or c["protocol"] == "TLSv1.3" for c in context.get_ciphers())


# -- a real TLS handshake on 127.0.0.1 ------------------------------------------------------


async def whoami(request: web.Request) -> web.Response:
    assert request.transport is not None
    peercert = request.transport.get_extra_info("peercert")
    user = Authenticator({}).authenticate(authorization_header=None, peercert=peercert)
    return web.json_response(
        {"peercert": peercert, "user": None if user is None else [user.name, list(user.groups)]}
    )


@pytest.fixture
async def server_url(pki: Pki) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/whoami", whoami)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ssl_context(pki))
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"https://127.0.0.1:{port}/whoami"
    finally:
        await runner.cleanup()


def client_context(pki: Pki, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=pki.ca_cert)
    if cert is not None:
        context.load_cert_chain(certfile=cert, keyfile=key)
    return context


async def fetch(url: str, context: ssl.SSLContext) -> dict[str, object]:
    async with aiohttp.ClientSession() as session, session.get(url, ssl=context) as response:
        response.raise_for_status()
        body: dict[str, object] = await response.json()
        return body


async def test_admin_client_certificate_is_seen(pki: Pki, server_url: str) -> None:
    body = await fetch(server_url, client_context(pki, pki.admin_cert, pki.admin_key))
    assert body["user"] == ["steersman-admin", ["system:masters", "system:authenticated"]]
    peercert = body["peercert"]
    assert isinstance(peercert, dict)
    assert [["commonName", "steersman-admin"]] in peercert["subject"]
    assert [["organizationName", "system:masters"]] in peercert["subject"]


async def test_no_client_certificate_is_none(pki: Pki, server_url: str) -> None:
    body = await fetch(server_url, client_context(pki))
    assert body == {"peercert": None, "user": None}


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
async def test_client_certificate_from_another_ca_is_rejected(
    pki: Pki, server_url: str, tmp_path: Path, version: ssl.TLSVersion
) -> None:
    foreign = ensure_pki(tmp_path / "foreign")
    context = client_context(pki, foreign.admin_cert, foreign.admin_key)
    context.maximum_version = version
    with pytest.raises(aiohttp.ClientConnectionError):
        await fetch(server_url, context)


async def test_client_rejects_a_server_outside_its_ca(
    pki: Pki, server_url: str, tmp_path: Path
) -> None:
    foreign = ensure_pki(tmp_path / "foreign")
    with pytest.raises(aiohttp.ClientConnectorCertificateError):
        await fetch(server_url, client_context(foreign))
