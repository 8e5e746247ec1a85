"""Kubeconfig files that kubectl, client-go and the Python ``kubernetes`` client read as is.

Contract:

* :func:`write_kubeconfig` writes a self-contained file (``apiVersion: v1``, ``kind:
  Config``): one cluster, one user and one context, all named ``steersman-<cluster>``,
  credentials embedded as base64 ``*-data`` fields, ``current-context`` set. The file is
  replaced atomically with mode 0600 (CIS 1.1.x), so a half-written kubeconfig never
  exists and a secret is never world-readable.
* :func:`merge_into_kubeconfig` copies the clusters, users and contexts of one kubeconfig
  into another (``~/.kube/config`` for ``steersman up --merge-kubeconfig``): entries with
  the same name are replaced, every other entry and top-level key is kept, and the merged
  context becomes current, as ``kind`` and ``k3d`` do.

Neighbours: :mod:`.pki` produces the CA, the admin certificate and the token embedded here
and provides the atomic write.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import yaml

from steersman.client.files import write_file_atomically

KUBECONFIG_MODE = 0o600
SECTIONS: tuple[tuple[str, str], ...] = (
    ("clusters", "cluster"),
    ("users", "user"),
    ("contexts", "context"),
)

Kubeconfig = dict[str, Any]


class KubeconfigError(ValueError):
    """A kubeconfig file that cannot be read as one, or arguments that cannot make one."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _cluster(*, server: str, ca_pem: bytes | None) -> dict[str, str]:
    cluster = {"server": server}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = _b64(ca_pem)
    return cluster


def _user(
    *, client_cert_pem: bytes | None, client_key_pem: bytes | None, token: str | None
) -> dict[str, str]:
    if (client_cert_pem is None) != (client_key_pem is None):
        raise KubeconfigError("a client certificate and its key go together: pass both or none")
    user: dict[str, str] = {}
    if client_cert_pem is not None and client_key_pem is not None:
        user["client-certificate-data"] = _b64(client_cert_pem)
        user["client-key-data"] = _b64(client_key_pem)
    if token is not None:
        user["token"] = token
    return user


def _dump(config: Kubeconfig) -> bytes:
    return yaml.safe_dump(config, default_flow_style=False, sort_keys=False).encode()


def _write(path: Path, config: Kubeconfig) -> None:
    # Only a directory this call creates is made private; an existing one (a home
    # directory, ~/.kube) is the user's to manage.
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_file_atomically(path, _dump(config), mode=KUBECONFIG_MODE)


def write_kubeconfig(
    path: Path,
    *,
    cluster_name: str,
    server: str,
    ca_pem: bytes | None,
    client_cert_pem: bytes | None = None,
    client_key_pem: bytes | None = None,
    token: str | None = None,
    namespace: str = "default",
) -> None:
    """Write a kubeconfig for ``server`` whose only context is ``steersman-<cluster_name>``."""
    name = f"steersman-{cluster_name}"
    user = _user(client_cert_pem=client_cert_pem, client_key_pem=client_key_pem, token=token)
    config: Kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": name, "cluster": _cluster(server=server, ca_pem=ca_pem)}],
        "users": [{"name": name, "user": user}],
        "contexts": [
            {"name": name, "context": {"cluster": name, "user": name, "namespace": namespace}}
        ],
        "current-context": name,
    }
    _write(path, config)


def _load(path: Path) -> Kubeconfig:
    document = yaml.safe_load(path.read_text()) or {}
    if not isinstance(document, dict):
        raise KubeconfigError(f"{path} is not a kubeconfig: its top level is not a mapping")
    for section, _ in SECTIONS:
        entries = document.get(section) or []
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise KubeconfigError(f"{path}: {section!r} is not a list of named entries")
        document[section] = entries
    return document


def _empty() -> Kubeconfig:
    return {"apiVersion": "v1", "kind": "Config", "preferences": {}}


def _merge_entries(
    existing: list[dict[str, Any]], incoming: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``existing`` with same-named entries replaced in place and new ones appended."""
    by_name = {entry.get("name"): entry for entry in incoming}
    merged = [by_name.pop(entry.get("name"), entry) for entry in existing]
    return merged + list(by_name.values())


def merge_into_kubeconfig(target: Path, source: Path) -> None:
    """Merge the clusters, users and contexts of ``source`` into ``target`` (made if missing)."""
    incoming = _load(source)
    # Resolving keeps a symlinked ~/.kube/config a symlink: the file it points to is replaced.
    target = target.resolve()
    config = _load(target) if target.exists() else _empty()
    for section, _ in SECTIONS:
        config[section] = _merge_entries(config.get(section, []), incoming[section])
    if incoming.get("current-context"):
        config["current-context"] = incoming["current-context"]
    _write(target, config)
