"""Service-account tokens: issuing and checking the JWTs of kube's ``pkg/serviceaccount``.

Contract:

* :meth:`ServiceAccountTokens.issue` signs, with the cluster's service-account key (ES256,
  :mod:`.jws`), the claims Kubernetes puts in a bound token: ``iss``, ``sub``
  (``system:serviceaccount:<ns>:<name>``), ``aud``, ``exp``, ``iat``, ``nbf``, ``jti`` and
  ``kubernetes.io`` ``{namespace, serviceaccount: {name, uid}, pod|secret|node: {name, uid}}``.
* :meth:`ServiceAccountTokens.validate` accepts a token only with a valid signature by a
  known key, this issuer, ``exp``/``nbf``/``iat`` within a 60 s leeway, and an audience
  shared with the wanted ones (by default the API audiences, i.e. the issuer URL); it
  returns what the token says and which audiences matched, or raises :class:`InvalidToken`
  with a reason. Whether the objects it names still exist is the caller's check
  (:mod:`.authn`), since that needs the registry.

Pure: time and token ids are injected. Neighbours: :mod:`.pki` keeps the key on disk,
:mod:`.tokenrequest` serves ``serviceaccounts/<name>/token``, :mod:`.oidc` publishes the
public key.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from steersman.apiserver import jws

DEFAULT_ISSUER = "https://kubernetes.default.svc.cluster.local"
LEEWAY_SECONDS = 60
DEFAULT_EXPIRATION_SECONDS = 3600
MIN_EXPIRATION_SECONDS = 600
MAX_EXPIRATION_SECONDS = 1 << 32
USER_PREFIX = "system:serviceaccount:"
_PRIVATE = "kubernetes.io"


class InvalidToken(Exception):
    """The token is not a valid service-account token for the wanted audiences."""


@dataclass(frozen=True)
class ObjectRef:
    """An object a token names: its name and uid (uid may be empty for a node)."""

    name: str
    uid: str = ""


@dataclass(frozen=True)
class TokenSubject:
    """The service account a token is for and the objects it is bound to."""

    namespace: str
    account: ObjectRef
    pod: ObjectRef | None = None
    secret: ObjectRef | None = None
    node: ObjectRef | None = None


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: int


@dataclass(frozen=True)
class ValidToken:
    """What a valid token says; ``audiences`` are those it shares with the wanted ones."""

    subject: TokenSubject
    audiences: tuple[str, ...]
    token_id: str


def username(namespace: str, name: str) -> str:
    """``system:serviceaccount:<namespace>:<name>``."""
    return f"{USER_PREFIX}{namespace}:{name}"


class ServiceAccountTokens:
    """Issues and validates ES256 service-account JWTs with one signing key."""

    def __init__(self, *, key: ec.EllipticCurvePrivateKey, issuer: str = DEFAULT_ISSUER,
                 api_audiences: Sequence[str] = (), clock: Callable[[], float] = time.time,
                 new_id: Callable[[], str] = lambda: str(uuid.uuid4())) -> None:
        self._key = key
        self.issuer = issuer
        self.api_audiences = tuple(api_audiences) or (issuer,)
        self._public_keys = {jws.key_id(key.public_key()): key.public_key()}
        self._clock = clock
        self._new_id = new_id

    def jwks(self) -> dict[str, Any]:
        """The verifying keys as a JWK Set."""
        return {"keys": [jws.jwk(key) for key in self._public_keys.values()]}

    def issue(self, subject: TokenSubject, *, audiences: Sequence[str],
              expiration_seconds: int) -> IssuedToken:
        """A signed token for ``subject``, valid for ``audiences`` from now on."""
        now = int(self._clock())
        expires_at = now + expiration_seconds
        claims = {
            "aud": list(audiences), "exp": expires_at, "iat": now, "iss": self.issuer,
            "jti": self._new_id(), _PRIVATE: _private_claims(subject), "nbf": now,
            "sub": username(subject.namespace, subject.account.name),
        }
        return IssuedToken(jws.sign(claims, self._key), expires_at)

    def validate(self, token: str, *, audiences: Sequence[str] = ()) -> ValidToken:
        """What ``token`` says, if it is valid now for one of ``audiences`` (default: API's)."""
        try:
            claims = jws.verify(token, self._public_keys)
        except jws.JWSError as exc:
            raise InvalidToken(str(exc)) from exc
        if claims.get("iss") != self.issuer:
            raise InvalidToken(f"token issuer {claims.get('iss')!r} is not {self.issuer!r}")
        _check_times(claims, self._clock())
        matched = _matched_audiences(claims.get("aud"), audiences or self.api_audiences)
        return ValidToken(_subject(claims), matched, str(claims.get("jti") or ""))


def _private_claims(subject: TokenSubject) -> dict[str, Any]:
    claims: dict[str, Any] = {"namespace": subject.namespace,
                              "serviceaccount": _ref_claim(subject.account)}
    for field, ref in (("node", subject.node), ("pod", subject.pod), ("secret", subject.secret)):
        if ref is not None:
            claims[field] = _ref_claim(ref)
    return claims


def _ref_claim(ref: ObjectRef) -> dict[str, str]:
    return {"name": ref.name, "uid": ref.uid} if ref.uid else {"name": ref.name}


def _numeric(claims: Mapping[str, Any], name: str, *, required: bool) -> float | None:
    value = claims.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidToken(f"token claim {name!r} is missing or not a number")
    return float(value)


def _check_times(claims: Mapping[str, Any], now: float) -> None:
    expiry = _numeric(claims, "exp", required=True)
    if expiry is not None and now > expiry + LEEWAY_SECONDS:
        raise InvalidToken("token has expired")
    not_before = _numeric(claims, "nbf", required=False)
    if not_before is not None and now + LEEWAY_SECONDS < not_before:
        raise InvalidToken("token is not valid yet")
    issued_at = _numeric(claims, "iat", required=False)
    if issued_at is not None and now + LEEWAY_SECONDS < issued_at:
        raise InvalidToken("token was issued in the future")


def _matched_audiences(claim: Any, wanted: Sequence[str]) -> tuple[str, ...]:
    token_audiences = [claim] if isinstance(claim, str) else claim
    if not isinstance(token_audiences, list) or not all(
            isinstance(a, str) for a in token_audiences):
        raise InvalidToken("token claim 'aud' is missing or malformed")
    matched = tuple(a for a in wanted if a in token_audiences)
    if not matched:
        raise InvalidToken("token audiences are invalid for the target audiences")
    return matched


def _subject(claims: Mapping[str, Any]) -> TokenSubject:
    private = claims.get(_PRIVATE)
    if not isinstance(private, dict) or not isinstance(private.get("namespace"), str):
        raise InvalidToken("token has no kubernetes.io namespace claim")
    namespace = private["namespace"]
    account = _ref(private.get("serviceaccount"), "serviceaccount")
    if account is None or not account.uid:
        raise InvalidToken("token has no kubernetes.io serviceaccount claim")
    if claims.get("sub") != username(namespace, account.name):
        raise InvalidToken("token subject does not match its service account")
    return TokenSubject(namespace, account, pod=_ref(private.get("pod"), "pod"),
                        secret=_ref(private.get("secret"), "secret"),
                        node=_ref(private.get("node"), "node"))


def _ref(value: Any, what: str) -> ObjectRef | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("name"), str) or not value["name"]:
        raise InvalidToken(f"token claim kubernetes.io {what} is malformed")
    uid = value.get("uid", "")
    if not isinstance(uid, str):
        raise InvalidToken(f"token claim kubernetes.io {what} is malformed")
    return ObjectRef(value["name"], uid)
