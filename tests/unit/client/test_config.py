"""Kubeconfig loading with kubectl's rules, and in-cluster configuration."""

from __future__ import annotations

import base64
import datetime
import ssl
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from steersman.client import ConfigError, load_incluster_config, load_kubeconfig


@pytest.fixture(scope="module")
def pem_pair() -> tuple[bytes, bytes]:
    """A self-signed certificate and its key (serves as CA and as client certificate)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def kubeconfig(*, clusters: dict[str, Any], users: dict[str, Any],
               contexts: dict[str, Any], current: str = "") -> dict[str, Any]:
    config: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": n, "cluster": c} for n, c in clusters.items()],
        "users": [{"name": n, "user": u} for n, u in users.items()],
        "contexts": [{"name": n, "context": c} for n, c in contexts.items()],
    }
    if current:
        config["current-context"] = current
    return config


def write(path: Path, config: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config))
    return path


def single(server: str = "https://127.0.0.1:6443", *, cluster: dict[str, Any] | None = None,
           user: dict[str, Any] | None = None, namespace: str = "") -> dict[str, Any]:
    context: dict[str, Any] = {"cluster": "c", "user": "u"}
    if namespace:
        context["namespace"] = namespace
    return kubeconfig(clusters={"c": {"server": server, **(cluster or {})}},
                      users={"u": user or {}}, contexts={"ctx": context}, current="ctx")


def test_token_ca_data_and_namespace(tmp_path: Path, pem_pair: tuple[bytes, bytes]) -> None:
    path = write(tmp_path / "config", single(
        cluster={"certificate-authority-data": b64(pem_pair[0])},
        user={"token": "s3cr3t"}, namespace="team"))
    config = load_kubeconfig(path)
    assert config.server == "https://127.0.0.1:6443"
    assert config.headers == {"Authorization": "Bearer s3cr3t"}
    assert config.namespace == "team"
    assert config.ssl_context is not None
    assert config.ssl_context.verify_mode == ssl.CERT_REQUIRED
    assert config.ssl_context.get_ca_certs()[0]["subject"] == ((("commonName", "test"),),)


def test_relative_paths_are_relative_to_the_kubeconfig(
        tmp_path: Path, pem_pair: tuple[bytes, bytes]) -> None:
    directory = tmp_path / "conf"
    directory.mkdir()
    (directory / "ca.crt").write_bytes(pem_pair[0])
    (directory / "client.crt").write_bytes(pem_pair[0])
    (directory / "client.key").write_bytes(pem_pair[1])
    (directory / "token").write_text("from-file\n")
    path = write(directory / "config", single(
        cluster={"certificate-authority": "ca.crt"},
        user={"client-certificate": "client.crt", "client-key": "client.key",
              "tokenFile": "token"}))
    config = load_kubeconfig(path)
    assert config.headers == {"Authorization": "Bearer from-file"}
    assert config.namespace == "default"


def test_client_certificate_data_is_loaded(tmp_path: Path, pem_pair: tuple[bytes, bytes]) -> None:
    path = write(tmp_path / "config", single(
        cluster={"certificate-authority-data": b64(pem_pair[0])},
        user={"client-certificate-data": b64(pem_pair[0]),
              "client-key-data": b64(pem_pair[1])}))
    assert load_kubeconfig(path).headers == {}


def test_a_certificate_without_its_key_is_rejected(
        tmp_path: Path, pem_pair: tuple[bytes, bytes]) -> None:
    path = write(tmp_path / "config", single(user={"client-certificate-data": b64(pem_pair[0])}))
    with pytest.raises(ConfigError, match="go together"):
        load_kubeconfig(path)


def test_kubeconfig_env_merges_first_definition_wins(tmp_path: Path) -> None:
    first = write(tmp_path / "a", kubeconfig(
        clusters={"shared": {"server": "https://127.0.0.1:1111"}},
        users={"u": {"token": "first"}},
        contexts={"one": {"cluster": "shared", "user": "u"}}, current="two"))
    second = write(tmp_path / "b", kubeconfig(
        clusters={"shared": {"server": "https://127.0.0.1:2222"}},
        users={"u": {"token": "second"}},
        contexts={"two": {"cluster": "shared", "user": "u", "namespace": "b-ns"}},
        current="one"))
    env = {"KUBECONFIG": f"{first}:{tmp_path / 'missing'}:{second}"}
    config = load_kubeconfig(env=env)
    assert (config.server, config.namespace) == ("https://127.0.0.1:1111", "b-ns")
    assert config.headers == {"Authorization": "Bearer first"}
    assert load_kubeconfig(env=env, context="one").namespace == "default"


def test_home_kube_config_is_the_default(tmp_path: Path) -> None:
    write(tmp_path / ".kube" / "config", single("https://127.0.0.1:7777"))
    assert load_kubeconfig(env={"HOME": str(tmp_path)}).server == "https://127.0.0.1:7777"


def test_plain_http_never_carries_credentials(tmp_path: Path) -> None:
    path = write(tmp_path / "config", single("http://127.0.0.1:8080/", user={"token": "t"}))
    config = load_kubeconfig(path)
    assert (config.server, config.ssl_context, config.headers) == (
        "http://127.0.0.1:8080", None, {})


def test_insecure_skip_tls_verify(tmp_path: Path, pem_pair: tuple[bytes, bytes]) -> None:
    path = write(tmp_path / "config", single(cluster={"insecure-skip-tls-verify": True}))
    context = load_kubeconfig(path).ssl_context
    assert context is not None and context.verify_mode == ssl.CERT_NONE
    both = write(tmp_path / "both", single(cluster={
        "insecure-skip-tls-verify": True, "certificate-authority-data": b64(pem_pair[0])}))
    with pytest.raises(ConfigError, match="insecure"):
        load_kubeconfig(both)


@pytest.mark.parametrize("user", [{"exec": {"command": "aws"}},
                                  {"auth-provider": {"name": "gcp"}}])
def test_auth_plugins_are_rejected(tmp_path: Path, user: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="not supported"):
        load_kubeconfig(write(tmp_path / "config", single(user=user)))


def test_basic_auth(tmp_path: Path) -> None:
    path = write(tmp_path / "config", single(user={"username": "ann", "password": "pw"}))
    assert load_kubeconfig(path).headers == {"Authorization": "Basic YW5uOnB3"}


@pytest.mark.parametrize(("context", "message"), [("nope", 'context "nope"'), ("", "no current")])
def test_missing_contexts_are_reported(tmp_path: Path, context: str, message: str) -> None:
    config = single()
    if not context:
        del config["current-context"]
    with pytest.raises(ConfigError, match=message):
        load_kubeconfig(write(tmp_path / "config", config), context=context)


def test_unreadable_kubeconfig_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_kubeconfig(tmp_path / "absent")
    (tmp_path / "bad").write_text("clusters: [")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_kubeconfig(tmp_path / "bad")


def test_in_cluster_config(tmp_path: Path, pem_pair: tuple[bytes, bytes]) -> None:
    (tmp_path / "token").write_text("sa-token\n")
    (tmp_path / "ca.crt").write_bytes(pem_pair[0])
    (tmp_path / "namespace").write_text("apps")
    env = {"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"}
    config = load_incluster_config(root=tmp_path, env=env)
    assert config.server == "https://[fd00::1]:443"
    assert config.headers == {"Authorization": "Bearer sa-token"}
    assert config.namespace == "apps"


def test_in_cluster_config_outside_a_cluster(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not in a cluster"):
        load_incluster_config(root=tmp_path, env={})
    env = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    with pytest.raises(ConfigError, match="token"):
        load_incluster_config(root=tmp_path, env=env)
