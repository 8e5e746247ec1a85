"""Join tokens: kubeadm bootstrap tokens and k3s's secure ``K10<ca-hash>::<id>.<secret>`` form.

A *bootstrap token* is ``<id>.<secret>`` (id ``[a-z0-9]{6}``, secret ``[a-z0-9]{16}``),
stored as the Secret ``kube-system/bootstrap-token-<id>`` of type
``bootstrap.kubernetes.io/token`` so operators mint and revoke them with plain kubectl. It
authenticates as ``system:bootstrap:<id>`` in ``system:bootstrappers`` (plus the Secret's
``auth-extra-groups``). A *join token* prefixes it with ``K10`` and the SHA-256 (hex) of the
cluster CA certificate as the server serves it at ``/cacerts``, which lets an agent trust
that CA before it has any other credential.

Pure: parsing, formatting and the Secret's shape; the API server authenticates with them
(:mod:`steersman.apiserver.bootstrap_tokens`) and the node agent joins with them
(:mod:`steersman.kubelet.agent.join`).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

SECRET_TYPE = "bootstrap.kubernetes.io/token"
SECRET_NAMESPACE = "kube-system"
SECRET_PREFIX = "bootstrap-token-"
USER_PREFIX = "system:bootstrap:"
BOOTSTRAPPERS = "system:bootstrappers"
_ID = re.compile(r"[a-z0-9]{6}")
_SECRET = re.compile(r"[a-z0-9]{16}")
_BOOTSTRAP = re.compile(r"([a-z0-9]{6})\.([a-z0-9]{16})")
_HASH = re.compile(r"[0-9a-f]{64}")
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


class TokenFormatError(ValueError):
    """A token that is not in the format its reader expects."""


@dataclass(frozen=True)
class BootstrapToken:
    """A kubeadm bootstrap token: ``<id>.<secret>``."""

    token_id: str
    secret: str

    def __str__(self) -> str:
        return f"{self.token_id}.{self.secret}"

    @property
    def secret_name(self) -> str:
        return SECRET_PREFIX + self.token_id

    @property
    def user_name(self) -> str:
        return USER_PREFIX + self.token_id


@dataclass(frozen=True)
class JoinToken:
    """``K10<sha256 hex of the CA PEM>::<id>.<secret>``: a bootstrap token that pins a CA."""

    ca_hash: str
    bootstrap: BootstrapToken

    def __str__(self) -> str:
        return f"K10{self.ca_hash}::{self.bootstrap}"


def parse_bootstrap_token(text: str) -> BootstrapToken | None:
    """The bootstrap token ``text`` is, or None when it does not have that shape."""
    match = _BOOTSTRAP.fullmatch(text)
    return None if match is None else BootstrapToken(match.group(1), match.group(2))


def parse_join_token(text: str) -> JoinToken:
    """Parse a ``K10…::id.secret`` token; :class:`TokenFormatError` says what is wrong."""
    text = text.strip()
    if not text.startswith("K10") or "::" not in text:
        raise TokenFormatError(
            "the join token must look like K10<sha256 of the CA>::<id>.<secret> "
            "(as written to the server's data dir in node-token)")
    ca_hash, _, credential = text[3:].partition("::")
    if not _HASH.fullmatch(ca_hash):
        raise TokenFormatError(
            f"the join token's CA hash {ca_hash!r} is not 64 lowercase hex digits")
    bootstrap = parse_bootstrap_token(credential)
    if bootstrap is None:
        raise TokenFormatError(
            "the join token's credential must be <id>.<secret> with a 6-character id and a "
            "16-character secret of a-z and 0-9")
    return JoinToken(ca_hash, bootstrap)


def ca_sha256(ca_pem: bytes) -> str:
    """The hex SHA-256 of the CA certificate bytes as served at ``/cacerts``."""
    return hashlib.sha256(ca_pem).hexdigest()


def new_bootstrap_token() -> BootstrapToken:
    """A fresh random bootstrap token."""
    return BootstrapToken(_random(6), _random(16))


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def bootstrap_token_secret(token: BootstrapToken, *, description: str,
                           expiration: str = "",
                           extra_groups: tuple[str, ...] = ()) -> dict[str, Any]:
    """The Secret that makes ``token`` valid for authentication (``expiration``: RFC 3339)."""
    data = {"token-id": token.token_id, "token-secret": token.secret,
            "usage-bootstrap-authentication": "true", "description": description}
    if expiration:
        data["expiration"] = expiration
    if extra_groups:
        data["auth-extra-groups"] = ",".join(extra_groups)
    return {"apiVersion": "v1", "kind": "Secret", "type": SECRET_TYPE,
            "metadata": {"name": token.secret_name, "namespace": SECRET_NAMESPACE},
            "stringData": data}


def valid_token_id(token_id: str) -> bool:
    return _ID.fullmatch(token_id) is not None


def valid_token_secret(secret: str) -> bool:
    return _SECRET.fullmatch(secret) is not None
