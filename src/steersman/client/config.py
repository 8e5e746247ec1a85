"""Where the API server is and how to authenticate: kubeconfig and in-cluster loading.

:func:`load_kubeconfig` reads kubeconfig files the way kubectl (client-go
``tools/clientcmd``) does:

* an explicit path wins; otherwise every file named in ``KUBECONFIG`` (``:``-separated,
  missing ones skipped); otherwise ``~/.kube/config``;
* several files merge entry by entry: the first file that defines a cluster, user or
  context name wins, and so does the first ``current-context``;
* relative paths inside a file are relative to that file's directory;
* credentials are only used over ``https`` (client-go never sends them over plain http).

:func:`load_incluster_config` reads a pod's service-account token, CA and namespace and
``KUBERNETES_SERVICE_HOST``/``PORT``. Both produce a frozen :class:`ClientConfig` for
:class:`steersman.client.rest.Client`. Auth plugins (``exec``, ``auth-provider``) and
options this client cannot honour are rejected with :class:`ConfigError`, never ignored.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
_UNSUPPORTED_USER_KEYS = ("exec", "auth-provider", "as", "as-groups", "impersonate")
_UNSUPPORTED_CLUSTER_KEYS = ("proxy-url", "tls-server-name")

Entry = dict[str, Any]


class ConfigError(ValueError):
    """A kubeconfig or in-cluster environment that cannot produce a client configuration."""


@dataclass(frozen=True)
class ClientConfig:
    """Everything a client needs to reach one API server as one user."""

    server: str
    ssl_context: ssl.SSLContext | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    namespace: str = "default"


@dataclass(frozen=True)
class _Merged:
    clusters: dict[str, Entry]
    users: dict[str, Entry]
    contexts: dict[str, Entry]
    current_context: str


def kubeconfig_paths(env: Mapping[str, str] | None = None) -> list[Path]:
    """The files kubectl would read: ``$KUBECONFIG`` entries, else ``~/.kube/config``."""
    env = os.environ if env is None else env
    listed = [Path(p).expanduser() for p in env.get("KUBECONFIG", "").split(os.pathsep) if p]
    if listed:
        return list(dict.fromkeys(p for p in listed if p.exists()))
    home = Path(env["HOME"]) if env.get("HOME") else Path.home()
    return [home / ".kube" / "config"]


def load_kubeconfig(path: str | Path | None = None, *, context: str = "",
                    env: Mapping[str, str] | None = None) -> ClientConfig:
    """A :class:`ClientConfig` for ``context`` (default: the current context)."""
    paths = [Path(path).expanduser()] if path is not None else kubeconfig_paths(env)
    merged = _merge([_read(p) for p in paths])
    name = context or merged.current_context
    if not name:
        raise ConfigError(f"no current context is set in {_names(paths)}")
    ctx = _lookup(merged.contexts, "context", name)
    cluster = _lookup(merged.clusters, "cluster", str(ctx.get("cluster", "")))
    user = _lookup(merged.users, "user", str(ctx.get("user", ""))) if ctx.get("user") else {}
    return _build(cluster, user, str(ctx.get("namespace") or "default"))


def load_incluster_config(*, root: Path = SERVICE_ACCOUNT_DIR,
                          env: Mapping[str, str] | None = None) -> ClientConfig:
    """The configuration of a pod: its service account's token and CA, the service env vars."""
    env = os.environ if env is None else env
    host, port = env.get("KUBERNETES_SERVICE_HOST", ""), env.get("KUBERNETES_SERVICE_PORT", "")
    if not host or not port:
        raise ConfigError("not in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set")
    token_path = root / "token"
    if not token_path.exists():
        raise ConfigError(f"not in a cluster: {token_path} does not exist")
    host = f"[{host}]" if ":" in host else host
    namespace_path = root / "namespace"
    namespace = namespace_path.read_text().strip() if namespace_path.exists() else "default"
    return ClientConfig(
        server=f"https://{host}:{port}",
        ssl_context=ssl.create_default_context(cafile=str(root / "ca.crt")),
        headers={"Authorization": f"Bearer {token_path.read_text().strip()}"},
        namespace=namespace or "default",
    )


def _names(paths: list[Path]) -> str:
    return ", ".join(str(p) for p in paths) or "(no kubeconfig file)"


def _read(path: Path) -> tuple[Path, dict[str, Any]]:
    try:
        loaded = yaml.safe_load(path.read_text()) or {}
    except OSError as err:
        raise ConfigError(f"cannot read kubeconfig {path}: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"kubeconfig {path} is not valid YAML: {err}") from None
    if not isinstance(loaded, dict):
        raise ConfigError(f"kubeconfig {path} is not a mapping")
    return path, loaded


def _merge(files: list[tuple[Path, dict[str, Any]]]) -> _Merged:
    sections: dict[str, dict[str, Entry]] = {"clusters": {}, "users": {}, "contexts": {}}
    current = ""
    for path, data in files:
        for section, entries in sections.items():
            for name, body in _entries(path, data, section):
                entries.setdefault(name, body)
        current = current or str(data.get("current-context") or "")
    return _Merged(sections["clusters"], sections["users"], sections["contexts"], current)


def _entries(path: Path, data: dict[str, Any], section: str) -> list[tuple[str, Entry]]:
    field_name = section[:-1]  # clusters → cluster
    found = []
    for item in data.get(section) or []:
        if not isinstance(item, dict) or "name" not in item:
            raise ConfigError(f"kubeconfig {path}: every entry of {section} needs a name")
        body = dict(item.get(field_name) or {})
        body["__dir__"] = path.parent
        found.append((str(item["name"]), body))
    return found


def _lookup(entries: dict[str, Entry], kind: str, name: str) -> Entry:
    if name not in entries:
        raise ConfigError(f'{kind} "{name}" is not defined in the kubeconfig')
    return entries[name]


def _build(cluster: Entry, user: Entry, namespace: str) -> ClientConfig:
    _reject(cluster, _UNSUPPORTED_CLUSTER_KEYS, "cluster")
    server = str(cluster.get("server") or "").rstrip("/")
    if not server.startswith(("https://", "http://")):
        raise ConfigError(f'cluster server "{server}" must be an http(s) URL')
    if server.startswith("http://"):
        return ClientConfig(server=server, namespace=namespace)
    _reject(user, _UNSUPPORTED_USER_KEYS, "user")
    context = _ssl_context(cluster)
    _load_client_certificate(context, user)
    return ClientConfig(server=server, ssl_context=context, headers=_auth_headers(user),
                        namespace=namespace)


def _reject(entry: Entry, keys: tuple[str, ...], kind: str) -> None:
    for key in keys:
        if entry.get(key):
            raise ConfigError(f'kubeconfig {kind} option "{key}" is not supported by steersman')


def _ssl_context(cluster: Entry) -> ssl.SSLContext:
    ca_pem = _file_or_data(cluster, "certificate-authority")
    if cluster.get("insecure-skip-tls-verify"):
        if ca_pem is not None:
            raise ConfigError("specifying a root certificates file with the insecure flag "
                              "is not allowed")
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if ca_pem is None:
        return ssl.create_default_context()
    return ssl.create_default_context(cadata=ca_pem.decode("ascii"))


def _load_client_certificate(context: ssl.SSLContext, user: Entry) -> None:
    cert_pem = _file_or_data(user, "client-certificate")
    key_pem = _file_or_data(user, "client-key")
    if cert_pem is None and key_pem is None:
        return
    if cert_pem is None or key_pem is None:
        raise ConfigError("client-certificate and client-key go together: set both or neither")
    # ssl only loads certificate chains from files: stage them in a private directory.
    with tempfile.TemporaryDirectory(prefix="steersman-client-") as directory:
        cert_path, key_path = Path(directory, "client.crt"), Path(directory, "client.key")
        cert_path.write_bytes(cert_pem)
        key_path.touch(mode=0o600)
        key_path.write_bytes(key_pem)
        context.load_cert_chain(str(cert_path), str(key_path))


def _auth_headers(user: Entry) -> dict[str, str]:
    token = str(user.get("token") or "")
    if not token and user.get("tokenFile"):
        token = _read_bytes(_resolve(user, str(user["tokenFile"])), "tokenFile").decode().strip()
    if token:
        return {"Authorization": f"Bearer {token}"}
    if user.get("username"):
        pair = f"{user['username']}:{user.get('password') or ''}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
    return {}


def _file_or_data(entry: Entry, key: str) -> bytes | None:
    """A PEM given inline as ``<key>-data`` (base64) or as a file path ``<key>``."""
    data = entry.get(f"{key}-data")
    if data:
        try:
            return base64.b64decode(str(data), validate=True)
        except ValueError:
            raise ConfigError(f"{key}-data is not valid base64") from None
    if entry.get(key):
        return _read_bytes(_resolve(entry, str(entry[key])), key)
    return None


def _read_bytes(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise ConfigError(f"cannot read {what} {path}: {err.strerror}") from None


def _resolve(entry: Entry, path: str) -> Path:
    candidate = Path(path).expanduser()
    base: Path = entry.get("__dir__") or Path.cwd()
    return candidate if candidate.is_absolute() else base / candidate
