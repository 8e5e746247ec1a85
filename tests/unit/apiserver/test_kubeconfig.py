"""Kubeconfigs: what kubectl and the Python client read from them, modes, merging."""

from __future__ import annotations

import base64
import json
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config

from steersman.apiserver.kubeconfig import (
    KubeconfigError,
    merge_into_kubeconfig,
    write_kubeconfig,
)
from steersman.apiserver.pki import Pki, ensure_pki
from tests.tools import need_tool

SERVER = "https://127.0.0.1:6443"


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return ensure_pki(tmp_path / "pki")


def admin_kubeconfig(path: Path, pki: Pki, *, server: str = SERVER, name: str = "dev") -> Path:
    write_kubeconfig(
        path,
        cluster_name=name,
        server=server,
        ca_pem=pki.ca_cert.read_bytes(),
        client_cert_pem=pki.admin_cert.read_bytes(),
        client_key_pem=pki.admin_key.read_bytes(),
        token="s3cr3t",
        namespace="apps",
    )
    return path


def read(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    return document


def names(document: dict[str, Any], section: str) -> list[str]:
    return [entry["name"] for entry in document[section]]


def kubectl(*args: str, home: Path) -> str:
    binary = need_tool("kubectl", "checks kubeconfig compatibility")
    environment = {"HOME": str(home), "KUBECACHEDIR": str(home / "cache"), "PATH": "/usr/bin"}
    done = subprocess.run(
        [binary, *args], env=environment, capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


def test_shape_and_embedded_credentials(tmp_path: Path, pki: Pki) -> None:
    document = read(admin_kubeconfig(tmp_path / "kubeconfig", pki))
    assert (document["apiVersion"], document["kind"]) == ("v1", "Config")
    assert document["current-context"] == "steersman-dev"
    assert document["contexts"] == [
        {
            "name": "steersman-dev",
            "context": {"cluster": "steersman-dev", "user": "steersman-dev", "namespace": "apps"},
        }
    ]
    cluster = document["clusters"][0]["cluster"]
    assert cluster["server"] == SERVER
    assert base64.b64decode(cluster["certificate-authority-data"]) == pki.ca_cert.read_bytes()
    user = document["users"][0]["user"]
    assert base64.b64decode(user["client-certificate-data"]) == pki.admin_cert.read_bytes()
    assert base64.b64decode(user["client-key-data"]) == pki.admin_key.read_bytes()
    assert user["token"] == "s3cr3t"


def test_private_and_atomic(tmp_path: Path, pki: Pki) -> None:
    path = admin_kubeconfig(tmp_path / "new" / "kubeconfig", pki)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    path.chmod(0o644)
    admin_kubeconfig(path, pki)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["kubeconfig"]


def test_plain_http_without_credentials(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    write_kubeconfig(path, cluster_name="x", server="http://127.0.0.1:8080", ca_pem=None)
    document = read(path)
    assert document["clusters"][0]["cluster"] == {"server": "http://127.0.0.1:8080"}
    assert document["users"][0]["user"] == {}


def test_certificate_without_key_is_refused(tmp_path: Path, pki: Pki) -> None:
    with pytest.raises(KubeconfigError, match="pass both"):
        write_kubeconfig(
            tmp_path / "k",
            cluster_name="x",
            server=SERVER,
            ca_pem=None,
            client_cert_pem=pki.admin_cert.read_bytes(),
        )
    assert not (tmp_path / "k").exists()


def test_python_client_loads_it(tmp_path: Path, pki: Pki) -> None:
    configuration = client.Configuration()
    config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=str(admin_kubeconfig(tmp_path / "kubeconfig", pki)),
        client_configuration=configuration,
    )
    assert configuration.host == SERVER
    files = (configuration.ssl_ca_cert, configuration.cert_file, configuration.key_file)
    expected = (pki.ca_cert, pki.admin_cert, pki.admin_key)
    for written, original in zip(files, expected, strict=True):
        assert written is not None
        assert Path(written).read_bytes() == original.read_bytes()
    assert configuration.get_api_key_with_prefix("BearerToken") == "Bearer s3cr3t"


def test_kubectl_reads_it(tmp_path: Path, pki: Pki) -> None:
    path = admin_kubeconfig(tmp_path / "kubeconfig", pki)
    output = kubectl(
        "config", "view", "--kubeconfig", str(path), "--minify", "-o", "json", home=tmp_path
    )
    view = json.loads(output)
    assert view["current-context"] == "steersman-dev"
    assert view["clusters"][0]["name"] == "steersman-dev"
    assert view["clusters"][0]["cluster"]["server"] == SERVER
    assert view["contexts"][0]["context"]["namespace"] == "apps"


# -- merging ------------------------------------------------------------------------------------

FOREIGN: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Config",
    "preferences": {"colors": True},
    "clusters": [{"name": "prod", "cluster": {"server": "https://10.0.0.1:6443"}}],
    "users": [{"name": "alice", "user": {"token": "alice-token"}}],
    "contexts": [{"name": "prod", "context": {"cluster": "prod", "user": "alice"}}],
    "current-context": "prod",
}


def test_merge_keeps_foreign_entries(tmp_path: Path, pki: Pki) -> None:
    target = tmp_path / "config"
    target.write_text(yaml.safe_dump(FOREIGN))
    merge_into_kubeconfig(target, admin_kubeconfig(tmp_path / "source", pki))
    merged = read(target)
    for section in ("clusters", "users", "contexts"):
        assert names(merged, section) == [FOREIGN[section][0]["name"], "steersman-dev"]
        assert merged[section][0] == FOREIGN[section][0]
    assert merged["preferences"] == {"colors": True}
    assert merged["current-context"] == "steersman-dev"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_merge_replaces_entries_of_the_same_name(tmp_path: Path, pki: Pki) -> None:
    target = tmp_path / "config"
    target.write_text(yaml.safe_dump(FOREIGN))
    merge_into_kubeconfig(target, admin_kubeconfig(tmp_path / "a", pki))
    later = admin_kubeconfig(tmp_path / "b", pki, server="https://127.0.0.1:7443")
    merge_into_kubeconfig(target, later)
    merged = read(target)
    assert names(merged, "clusters") == ["prod", "steersman-dev"]
    assert merged["clusters"][1]["cluster"]["server"] == "https://127.0.0.1:7443"


def test_merge_creates_a_missing_target(tmp_path: Path, pki: Pki) -> None:
    target = tmp_path / "home" / ".kube" / "config"
    source = admin_kubeconfig(tmp_path / "source", pki)
    merge_into_kubeconfig(target, source)
    assert read(target) == read(source)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_merge_through_a_symlink_keeps_the_link(tmp_path: Path, pki: Pki) -> None:
    real = tmp_path / "real-config"
    real.write_text(yaml.safe_dump(FOREIGN))
    link = tmp_path / "config"
    link.symlink_to(real)
    merge_into_kubeconfig(link, admin_kubeconfig(tmp_path / "source", pki))
    assert link.is_symlink()
    assert names(read(real), "contexts") == ["prod", "steersman-dev"]


def test_merge_refuses_a_target_that_is_not_a_kubeconfig(tmp_path: Path, pki: Pki) -> None:
    target = tmp_path / "config"
    target.write_text("- just\n- a list\n")
    with pytest.raises(KubeconfigError, match="not a kubeconfig"):
        merge_into_kubeconfig(target, admin_kubeconfig(tmp_path / "source", pki))
    assert target.read_text() == "- just\n- a list\n"


def test_kubectl_sees_both_contexts_after_merge(tmp_path: Path, pki: Pki) -> None:
    target = tmp_path / "config"
    target.write_text(yaml.safe_dump(FOREIGN))
    merge_into_kubeconfig(target, admin_kubeconfig(tmp_path / "source", pki))
    output = kubectl(
        "config", "get-contexts", "-o", "name", "--kubeconfig", str(target), home=tmp_path
    )
    assert output.split() == ["prod", "steersman-dev"]
    current = kubectl("config", "current-context", "--kubeconfig", str(target), home=tmp_path)
    assert current.strip() == "steersman-dev"
