"""Bootstrap tokens: authenticate them, confine what they may do, keep the server's join token.

Contract:

* :class:`BootstrapTokenAuthenticator` accepts ``<id>.<secret>`` when the Secret
  ``kube-system/bootstrap-token-<id>`` exists, has type ``bootstrap.kubernetes.io/token``,
  the same ``token-secret`` (compared in constant time), ``usage-bootstrap-authentication:
  "true"`` and no ``expiration`` in the past — kube-apiserver's bootstrap authenticator. The
  user is ``system:bootstrap:<id>`` in ``system:bootstrappers`` and every
  ``auth-extra-groups`` group that starts with ``system:bootstrappers:``. Secrets are read
  through an injected lookup (the registry's cache), so this does no I/O.
* :func:`bootstrapper_allowed`: there is no RBAC yet, so a bootstrapper — a user whose
  only credential is a join token — may do exactly what kubeadm's
  ``system:node-bootstrapper`` role allows: create, get, list and watch
  CertificateSigningRequests, plus what ``system:discovery`` gives every authenticated
  user (discovery, OpenAPI, ``/version``). Everything else is 403.
* :func:`ensure_join_token` keeps the server's default join token in ``<data dir>/node-token``
  (0600) as ``K10<sha256 of the CA>::<id>.<secret>``; when the file or its Secret is missing
  (deleting the Secret revokes the token) it mints a new token. It does not expire: it is
  the cluster's standing join secret, as k3s's server token is.

Neighbours: :mod:`steersman.api.bootstraptoken` (the formats), :mod:`.authn` (which asks this
authenticator), :mod:`.certificate_requests` (what bootstrappers create).
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from steersman.api import bootstraptoken as bt
from steersman.api import errors
from steersman.api.meta import parse_time
from steersman.apiserver.generic import GenericRegistry
from steersman.apiserver.requestinfo import RequestInfo, parse_resource_path
from steersman.client.files import write_file_atomically

Object = dict[str, Any]
SecretLookup = Callable[[str], Object | None]
"""``lookup(name)``: the live Secret ``kube-system/<name>``, or None."""
Clock = Callable[[], float]
JOIN_TOKEN_FILE = "node-token"
_DESCRIPTION = "The default join token of this steersman server (node-token)."
_BOOTSTRAPPER_VERBS = {"GET", "POST"}
_VERBS = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch",
          "DELETE": "delete"}
_DISCOVERY = ("/api", "/apis", "/version", "/openapi/v2", "/openapi/v3")
_DISCOVERY_TREES = ("/api/", "/apis/", "/openapi/v3/")


def _secret_data(secret: Mapping[str, Any]) -> dict[str, str]:
    data: dict[str, str] = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            data[key] = base64.b64decode(value).decode()
        except (ValueError, UnicodeDecodeError):
            continue
    return data


class BootstrapTokenAuthenticator:
    """``<id>.<secret>`` bearer tokens checked against their kube-system Secrets."""

    def __init__(self, lookup: SecretLookup, *, clock: Clock) -> None:
        self._lookup = lookup
        self._clock = clock

    def authenticate(self, token: str) -> tuple[str, tuple[str, ...]] | None:
        """``(user, groups)`` for a valid bootstrap token; None for anything else."""
        parsed = bt.parse_bootstrap_token(token)
        if parsed is None:
            return None
        secret = self._lookup(parsed.secret_name)
        if secret is None or secret.get("type") != bt.SECRET_TYPE:
            return None
        data = _secret_data(secret)
        if not hmac.compare_digest(data.get("token-secret", ""), parsed.secret):
            return None
        if data.get("token-id") != parsed.token_id:
            return None
        if data.get("usage-bootstrap-authentication") != "true" or self._expired(data):
            return None
        return parsed.user_name, _groups(data)

    def _expired(self, data: Mapping[str, str]) -> bool:
        expiration = data.get("expiration", "")
        if not expiration:
            return False
        try:
            return parse_time(expiration).timestamp() <= self._clock()
        except ValueError:
            return True


def _groups(data: Mapping[str, str]) -> tuple[str, ...]:
    extra = [g.strip() for g in data.get("auth-extra-groups", "").split(",") if g.strip()]
    allowed = [g for g in extra if g.startswith(bt.BOOTSTRAPPERS + ":")]
    return tuple(dict.fromkeys([bt.BOOTSTRAPPERS, *allowed]))


def secret_lookup(registry: GenericRegistry) -> SecretLookup:
    """Read kube-system Secrets from the registry's cache."""
    info = registry.resources.get("", "v1", "secrets")
    assert info is not None, "core/v1 secrets is not registered"

    def lookup(name: str) -> Object | None:
        secret = registry.cached(info, bt.SECRET_NAMESPACE, name)
        if secret is None or secret["metadata"].get("deletionTimestamp"):
            return None
        return secret

    return lookup


def is_bootstrapper(groups: tuple[str, ...]) -> bool:
    return bt.BOOTSTRAPPERS in groups


def bootstrapper_denial(user: str, method: str, path: str) -> errors.StatusError | None:
    """The 403 for a bootstrapper's request outside :func:`bootstrapper_allowed`, else None."""
    ri = parse_resource_path(path)
    if bootstrapper_allowed(method, path, ri):
        return None
    verb = _VERBS.get(method, method.lower())
    if ri is None:
        return errors.StatusError(403, "Forbidden",
                                  f'forbidden: User "{user}" cannot {verb} path "{path}"')
    if method == "GET" and not ri.name:
        verb = "list"
    resource = f"{ri.resource}/{ri.subresource}" if ri.subresource else ri.resource
    return errors.forbidden_request(user, verb, resource, ri.group, ri.namespace)


def bootstrapper_allowed(method: str, path: str, ri: RequestInfo | None) -> bool:
    """What a join token may do: discovery, and create/get/list/watch of CSRs."""
    if method not in _BOOTSTRAPPER_VERBS:
        return False
    if ri is None:
        return method == "GET" and (path in _DISCOVERY or path.startswith(_DISCOVERY_TREES))
    if (ri.group, ri.resource) != ("certificates.k8s.io", "certificatesigningrequests"):
        return False
    return not ri.subresource and (method == "GET" or not ri.name)


async def ensure_join_token(registry: GenericRegistry, data_dir: Path, *,
                            ca_pem: bytes) -> Path:
    """The server's join token file, minted (with its Secret) when missing or revoked."""
    path = data_dir / JOIN_TOKEN_FILE
    lookup = secret_lookup(registry)
    current = _read_token(path)
    ca_hash = bt.ca_sha256(ca_pem)
    if current is not None and current.ca_hash == ca_hash and lookup(
            current.bootstrap.secret_name) is not None:
        path.chmod(0o600)
        return path
    token = bt.new_bootstrap_token()
    info = registry.resources.get("", "v1", "secrets")
    assert info is not None
    await registry.create(info, bt.SECRET_NAMESPACE,
                          bt.bootstrap_token_secret(token, description=_DESCRIPTION))
    join = bt.JoinToken(ca_hash, token)
    write_file_atomically(path, f"{join}\n".encode(), mode=0o600)
    return path


def _read_token(path: Path) -> bt.JoinToken | None:
    try:
        return bt.parse_join_token(path.read_text())
    except (FileNotFoundError, bt.TokenFormatError):
        return None
