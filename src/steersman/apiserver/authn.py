"""Authentication: who is making a request, from its TLS client certificate or bearer token.

Contract:

* A verified client certificate wins (the API server's TLS context only hands over
  certificates signed by the cluster CA): its subject's common name is the user name and
  every organization is a group, as in Kubernetes' x509 authenticator.
* Otherwise ``Authorization: Bearer <token>`` is looked up among the static tokens (the
  admin token now; join tokens are added and removed at run time), then among bootstrap
  tokens (``<id>.<secret>``, checked by an injected :data:`BootstrapCheck`).
  Tokens are kept only as SHA-256 digests and looked up by digest, so neither the secret
  nor the time a lookup takes depends on how much of a guess matches a real token.
* A bearer token that is not a static token may be a service-account JWT: valid when
  :class:`~.service_account_tokens.ServiceAccountTokens` accepts it (signature, expiry, an
  API audience) and the service account — and any pod or secret it is bound to — still
  exists with the uid the token names. That existence check goes through an injected
  :data:`ObjectLookup`, so this module does no I/O. It authenticates as
  ``system:serviceaccount:<ns>:<name>`` in ``system:serviceaccounts`` and
  ``system:serviceaccounts:<ns>``, with kube's ``authentication.kubernetes.io/*`` extras.
* Every authenticated user carries ``system:authenticated``; a request with neither
  credential is ``None`` here, and the caller answers 401 — or, on the loopback
  ``--insecure-http`` listener only, serves it as :func:`anonymous`.
* :meth:`Authenticator.authenticate_token` is the same token check for a TokenReview, with
  the audiences asked for and a reason when it fails.

Neighbours: :mod:`.pki` makes the certificates, the admin token and the signing key;
authorization (RBAC) decides what a :class:`UserInfo` may do.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from steersman.apiserver import jws
from steersman.apiserver.service_account_tokens import (
    DEFAULT_ISSUER,
    InvalidToken,
    ObjectRef,
    ServiceAccountTokens,
    TokenSubject,
    ValidToken,
    username,
)

ADMIN_USER = "steersman-admin"
# Distinct certificate subjects remembered (a node's is the same on every request); the
# table starts over when it is full, which only costs working the users out again.
CERTIFICATE_USERS_LIMIT = 16_384
SYSTEM_MASTERS = "system:masters"
SYSTEM_AUTHENTICATED = "system:authenticated"
SYSTEM_UNAUTHENTICATED = "system:unauthenticated"
ANONYMOUS_USER = "system:anonymous"
SERVICE_ACCOUNTS_GROUP = "system:serviceaccounts"
_EXTRA_PREFIX = "authentication.kubernetes.io/"

Extra = tuple[tuple[str, tuple[str, ...]], ...]
BootstrapCheck = Callable[[str], tuple[str, tuple[str, ...]] | None]
"""``check(token)``: ``(user, groups)`` of a valid bootstrap token (``<id>.<secret>``), else
None; :class:`~.bootstrap_tokens.BootstrapTokenAuthenticator` is the one implementation."""
ObjectLookup = Callable[[str, str, str], str | None]
"""``lookup(kind, namespace, name)``: the uid of that live object; None when it is absent or
being deleted. Kinds asked for: ServiceAccount, Pod, Secret, Node (namespace "")."""


@dataclass(frozen=True)
class UserInfo:
    """An authenticated identity: user name, groups and an optional unique id."""

    name: str
    groups: tuple[str, ...]
    uid: str = ""
    extra: Extra = ()


@dataclass(frozen=True)
class TokenResult:
    """A bearer token's check: the user (None when invalid), matched audiences, the reason."""

    user: UserInfo | None
    audiences: tuple[str, ...] = ()
    error: str = ""


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
    return dataclasses.replace(user, groups=(*user.groups, SYSTEM_AUTHENTICATED))


def _subject_values(subject: Any, attribute: str) -> list[str]:
    """Values of ``attribute`` in a ``getpeercert()`` subject: ((("commonName", "x"),), …)."""
    return [value for rdn in subject for key, value in rdn if key == attribute]


def user_from_subject(subject: Any) -> UserInfo | None:
    """A client certificate's user: CN → user name, every O → a group; None without a CN."""
    names = _subject_values(subject, "commonName")
    if not names or not names[0]:
        return None
    groups = dict.fromkeys(_subject_values(subject, "organizationName"))
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


def service_account_user(token: ValidToken) -> UserInfo:
    """The user a valid service-account token stands for, with kube's extras."""
    subject = token.subject
    return UserInfo(
        name=username(subject.namespace, subject.account.name),
        groups=(SERVICE_ACCOUNTS_GROUP, f"{SERVICE_ACCOUNTS_GROUP}:{subject.namespace}",
                SYSTEM_AUTHENTICATED),
        uid=subject.account.uid, extra=_token_extra(token))


def _token_extra(token: ValidToken) -> Extra:
    extra: dict[str, tuple[str, ...]] = {}
    if token.token_id:
        extra["credential-id"] = (f"JTI={token.token_id}",)
    for kind, ref in (("node", token.subject.node), ("pod", token.subject.pod)):
        if ref is not None:
            extra[f"{kind}-name"] = (ref.name,)
            if ref.uid:
                extra[f"{kind}-uid"] = (ref.uid,)
    return tuple((_EXTRA_PREFIX + key, value) for key, value in sorted(extra.items()))


def _stale_reference(subject: TokenSubject, lookup: ObjectLookup) -> str:
    """Why the objects a token names no longer match the cluster; "" when they all do."""
    checks: list[tuple[str, str, ObjectRef]] = [
        ("ServiceAccount", subject.namespace, subject.account)]
    if subject.pod is not None:
        checks.append(("Pod", subject.namespace, subject.pod))
    if subject.secret is not None:
        checks.append(("Secret", subject.namespace, subject.secret))
    if subject.node is not None and subject.pod is None:
        checks.append(("Node", "", subject.node))
    for kind, namespace, ref in checks:
        uid = lookup(kind, namespace, ref.name)
        where = f"{namespace}/{ref.name}" if namespace else ref.name
        if uid is None:
            return f"{kind} {where} referenced by the token no longer exists"
        if uid != ref.uid:
            return f"{kind} {where} UID ({uid}) does not match the token's claim ({ref.uid})"
    return ""


class Authenticator:
    """Client certificates first, then static bearer tokens held as digests, then SA JWTs."""

    def __init__(self, tokens: Mapping[str, UserInfo], *,
                 service_accounts: ServiceAccountTokens | None = None,
                 lookup: ObjectLookup | None = None,
                 bootstrap: BootstrapCheck | None = None) -> None:
        if (service_accounts is None) != (lookup is None):
            raise ValueError("service-account tokens need both the token issuer and a lookup")
        self._users_by_digest: dict[bytes, UserInfo] = {}
        self._users_by_subject: dict[Any, UserInfo | None] = {}
        self._service_accounts = service_accounts
        self._lookup = lookup
        self._bootstrap = bootstrap
        for token, user in tokens.items():
            self.add_token(token, user)

    @property
    def api_audiences(self) -> tuple[str, ...]:
        """The audiences a token must share to be accepted by this API server."""
        if self._service_accounts is not None:
            return self._service_accounts.api_audiences
        return (DEFAULT_ISSUER,)

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
        user = self._certificate_user(peercert) if peercert else None
        if user is not None:
            return user
        token = bearer_token(authorization_header)
        if token is None:
            return None
        return self.authenticate_token(token).user

    def _certificate_user(self, peercert: Mapping[str, Any]) -> UserInfo | None:
        """:func:`user_from_subject`, remembered by subject: the user depends on nothing
        else, and the TLS handshake has already verified the certificate."""
        subject = peercert.get("subject", ())
        users = self._users_by_subject
        try:
            return users[subject]
        except KeyError:
            pass
        except TypeError:  # not the tuples getpeercert() gives: work it out every time
            return user_from_subject(subject)
        if len(users) >= CERTIFICATE_USERS_LIMIT:
            users.clear()
        user = users[subject] = user_from_subject(subject)
        return user

    def authenticate_token(self, token: str, *, audiences: Sequence[str] = ()) -> TokenResult:
        """Check a bearer token for ``audiences`` (default: the API audiences)."""
        user = self._users_by_digest.get(_digest(token)) or self._bootstrap_user(token)
        if user is not None:
            # Static tokens are audience-agnostic: they are good for the API audiences only.
            api_audiences = self.api_audiences
            matched = api_audiences if not audiences else tuple(
                a for a in audiences if a in api_audiences)
            if not matched:
                return TokenResult(None, error="token audiences are invalid for the target "
                                               "audiences")
            return TokenResult(user, matched)
        if self._service_accounts is None or not jws.looks_like_jws(token):
            return TokenResult(None, error="invalid bearer token")
        return self._service_account_token(self._service_accounts, token, audiences)

    def _bootstrap_user(self, token: str) -> UserInfo | None:
        found = self._bootstrap(token) if self._bootstrap is not None else None
        return None if found is None else _authenticated(UserInfo(found[0], found[1]))

    def _service_account_token(self, issuer: ServiceAccountTokens, token: str,
                               audiences: Sequence[str]) -> TokenResult:
        assert self._lookup is not None
        try:
            valid = issuer.validate(token, audiences=audiences)
        except InvalidToken as exc:
            return TokenResult(None, error=f"invalid bearer token, {exc}")
        stale = _stale_reference(valid.subject, self._lookup)
        if stale:
            return TokenResult(None, error=f"invalid bearer token, {stale}")
        return TokenResult(service_account_user(valid), valid.audiences)
