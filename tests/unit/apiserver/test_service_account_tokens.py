"""Service-account JWTs: ES256 signing, verification and the claims kube puts in them."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from steersman.apiserver import jws
from steersman.apiserver.service_account_tokens import (
    DEFAULT_ISSUER,
    InvalidToken,
    ObjectRef,
    ServiceAccountTokens,
    TokenSubject,
)

NOW = 1_800_000_000.0
ROBOT = TokenSubject("team", ObjectRef("robot", "uid-robot"))


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def p256() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def tokens(clock: Clock) -> ServiceAccountTokens:
    return ServiceAccountTokens(key=p256(), clock=clock, new_id=lambda: "jti-1")


def segment(token: str, index: int) -> dict[str, object]:
    part = token.split(".")[index]
    decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def issue(tokens: ServiceAccountTokens, subject: TokenSubject = ROBOT,
          audiences: tuple[str, ...] = (DEFAULT_ISSUER,), seconds: int = 3600) -> str:
    return tokens.issue(subject, audiences=audiences, expiration_seconds=seconds).token


def test_claims_are_kubes(tokens: ServiceAccountTokens) -> None:
    issued = tokens.issue(ROBOT, audiences=[DEFAULT_ISSUER], expiration_seconds=3600)
    assert issued.expires_at == int(NOW) + 3600
    assert segment(issued.token, 1) == {
        "aud": [DEFAULT_ISSUER], "exp": int(NOW) + 3600, "iat": int(NOW), "nbf": int(NOW),
        "iss": DEFAULT_ISSUER, "jti": "jti-1", "sub": "system:serviceaccount:team:robot",
        "kubernetes.io": {"namespace": "team",
                          "serviceaccount": {"name": "robot", "uid": "uid-robot"}},
    }


def test_header_names_es256_and_the_key_id(tokens: ServiceAccountTokens) -> None:
    header = segment(issue(tokens), 0)
    assert header == {"alg": "ES256", "kid": tokens.jwks()["keys"][0]["kid"]}


def test_bound_objects_are_in_the_claims(tokens: ServiceAccountTokens) -> None:
    subject = TokenSubject("team", ObjectRef("robot", "uid-robot"), pod=ObjectRef("p", "uid-p"),
                           node=ObjectRef("n1", "uid-n1"))
    private = segment(issue(tokens, subject), 1)["kubernetes.io"]
    assert private == {
        "namespace": "team", "serviceaccount": {"name": "robot", "uid": "uid-robot"},
        "pod": {"name": "p", "uid": "uid-p"}, "node": {"name": "n1", "uid": "uid-n1"}}
    assert tokens.validate(issue(tokens, subject)).subject == subject


def test_valid_token_round_trips(tokens: ServiceAccountTokens) -> None:
    valid = tokens.validate(issue(tokens))
    assert valid.subject == ROBOT
    assert valid.audiences == (DEFAULT_ISSUER,)
    assert valid.token_id == "jti-1"


def test_jwks_publishes_the_verifying_key(tokens: ServiceAccountTokens) -> None:
    (key,) = tokens.jwks()["keys"]
    assert {k: key[k] for k in ("use", "kty", "crv", "alg")} == {
        "use": "sig", "kty": "EC", "crv": "P-256", "alg": "ES256"}
    assert len(base64.urlsafe_b64decode(key["x"] + "=")) == 32


def _flip_signature(token: str) -> str:
    head, payload, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[5] ^= 0x01
    return f"{head}.{payload}.{jws.b64url(bytes(raw))}"


def _swap_payload(token: str) -> str:
    head, _, signature = token.split(".")
    claims = segment(token, 1)
    claims["sub"] = "system:serviceaccount:kube-system:admin"
    return f"{head}.{jws.b64url(json.dumps(claims).encode())}.{signature}"


def _alg_none(token: str) -> str:
    _, payload, _ = token.split(".")
    header = jws.b64url(json.dumps({"alg": "none"}).encode())
    return f"{header}.{payload}."


@pytest.mark.parametrize("tamper", [_flip_signature, _swap_payload, _alg_none,
                                    lambda t: t + "x", lambda t: t.rsplit(".", 1)[0],
                                    lambda t: "a.b.c"])
def test_tampered_tokens_are_rejected(tokens: ServiceAccountTokens,
                                      tamper: Callable[[str], str]) -> None:
    with pytest.raises(InvalidToken):
        tokens.validate(tamper(issue(tokens)))


def test_unknown_key_id_is_rejected(tokens: ServiceAccountTokens, clock: Clock) -> None:
    other = ServiceAccountTokens(key=p256(), clock=clock)
    with pytest.raises(InvalidToken, match="unknown key"):
        tokens.validate(issue(other))


def test_a_kid_naming_our_key_over_a_foreign_signature_is_rejected(
        tokens: ServiceAccountTokens, clock: Clock) -> None:
    foreign = issue(ServiceAccountTokens(key=p256(), clock=clock))
    ours = issue(tokens)
    forged = ".".join([ours.split(".")[0], *foreign.split(".")[1:]])
    with pytest.raises(InvalidToken, match="signature"):
        tokens.validate(forged)


def test_wrong_issuer_is_rejected(clock: Clock) -> None:
    key = p256()
    elsewhere = ServiceAccountTokens(key=key, issuer="https://other.example", clock=clock)
    with pytest.raises(InvalidToken, match="issuer"):
        ServiceAccountTokens(key=key, clock=clock).validate(issue(elsewhere))


def test_wrong_audience_is_rejected(tokens: ServiceAccountTokens) -> None:
    token = issue(tokens, audiences=("vault",))
    with pytest.raises(InvalidToken, match="audiences"):
        tokens.validate(token)
    assert tokens.validate(token, audiences=["other", "vault"]).audiences == ("vault",)


@pytest.mark.parametrize(("offset", "valid"), [(3600 + 59, True), (3600 + 61, False),
                                               (-59, True), (-61, False)])
def test_expiry_and_not_before_with_a_minute_of_leeway(
        tokens: ServiceAccountTokens, clock: Clock, offset: float, valid: bool) -> None:
    token = issue(tokens)
    clock.now = NOW + offset
    if valid:
        tokens.validate(token)
    else:
        with pytest.raises(InvalidToken, match=r"expired|not valid yet|future"):
            tokens.validate(token)


def test_signing_needs_a_p256_key() -> None:
    with pytest.raises(ValueError, match="P-256"):
        jws.sign({}, ec.generate_private_key(ec.SECP384R1()))


def test_key_id_is_stable_per_key() -> None:
    key = p256()
    assert jws.key_id(key.public_key()) == jws.key_id(key.public_key())
    assert jws.key_id(key.public_key()) != jws.key_id(p256().public_key())
