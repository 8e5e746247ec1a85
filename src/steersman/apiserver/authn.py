"""Authentication: who is making a request, from its TLS client certificate or bearer token.

Contract:

* A verified client certificate wins (the API server's TLS context only hands over
  certificates signed by the cluster CA): its subject's common name is the user name and
  every organization is a group, as in Kubernetes' x509 authenticator.
* Otherwise ``Authorization: Bearer <token>`` is looked up among the static tokens (the
  admin token now; join and service-account tokens are added and removed at run time).
  Tokens are kept only as SHA-256 digests and looked up by digest, so neither the secret
  nor the time a lookup takes depends on how much of a guess matches a real token.
* Every authenticated user carries ``system:authenticated``; a request with neither
  credential is ``None`` here, and the caller answers 401 — or, on the loopback
  ``--insecure-http`` listener only, serves it as :func:`anonymous`.

Neighbours: :mod:`.pki` makes the certificates and the admin token; authorization (RBAC)
decides what a :class:`UserInfo` may do.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ADMIN_USER = "steersman-admin"
SYSTEM_MASTERS = "system:masters"
SYSTEM_AUTHENTICATED = "system:authenticated"
SYSTEM_UNAUTHENTICATED = "system:unauthenticated"
ANONYMOUS_USER = "system:anonymous"


@dataclass(frozen=True)
class UserInfo:
    """An authenticated identity: user name, groups and an optional unique id."""

    name: str
    groups: tuple[str, ...]
    uid: str = ""


def admin_user() -> UserInfo:
    """The user the admin token and admin certificate stand for."""
    return UserInfo(name=ADMIN_USER, groups=(SYSTEM_MASTERS, SYSTEM_AUTHENTICATED))


def anonymous() -> UserInfo:
    """The user of a request without credentials, for the loopback ``--insecure-http`` mode."""
    return UserInfo(name=ANONYMOUS_USER, groups=(SYSTEM_UNAUTHENTICATED,))


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _authenticated(user: UserInfo) -> UserInfo:
    if SYSTEM_AUTHENTICATED in user.groups:
        return user
    return UserInfo(name=user.name, groups=(*user.groups, SYSTEM_AUTHENTICATED), uid=user.uid)


def _subject_values(peercert: Mapping[str, Any], attribute: str) -> list[str]:
    """Values of ``attribute`` in a ``getpeercert()`` subject: ((("commonName", "x"),), …)."""
    return [value for rdn in peercert.get("subject", ()) for key, value in rdn if key == attribute]


def user_from_certificate(peercert: Mapping[str, Any] | None) -> UserInfo | None:
    """CN → user name, every O → a group; None without a certificate or a common name."""
    if not peercert:
        return None
    names = _subject_values(peercert, "commonName")
    if not names or not names[0]:
        return None
    groups = dict.fromkeys(_subject_values(peercert, "organizationName"))
    return _authenticated(UserInfo(name=names[0], groups=tuple(groups)))


def bearer_token(authorization_header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (scheme case-insensitive)."""
    if not authorization_header:
        return None
    scheme, _, token = authorization_header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


class Authenticator:
    """Client certificates first, then static bearer tokens held as digests."""

    def __init__(self, tokens: Mapping[str, UserInfo]) -> None:
        self._users_by_digest: dict[bytes, UserInfo] = {}
        for token, user in tokens.items():
            self.add_token(token, user)

    def add_token(self, token: str, user: UserInfo) -> None:
        """Accept ``token`` as ``user`` from now on (replacing an earlier user of it)."""
        if not token:
            raise ValueError("an empty bearer token cannot be accepted")
        self._users_by_digest[_digest(token)] = _authenticated(user)

    def remove_token(self, token: str) -> None:
        """Stop accepting ``token``; removing an unknown token is a no-op."""
        self._users_by_digest.pop(_digest(token), None)

    def authenticate(
        self, *, authorization_header: str | None, peercert: Mapping[str, Any] | None
    ) -> UserInfo | None:
        """The user a request authenticates as, or None when it has no valid credential."""
        user = user_from_certificate(peercert)
        if user is not None:
            return user
        token = bearer_token(authorization_header)
        if token is None:
            return None
        return self._users_by_digest.get(_digest(token))
