"""The authenticator's service-account path: JWT → ``system:serviceaccount:<ns>:<name>``."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from steersman.apiserver.authn import Authenticator, UserInfo, admin_user
from steersman.apiserver.service_account_tokens import (
    DEFAULT_ISSUER,
    ObjectRef,
    ServiceAccountTokens,
    TokenSubject,
)

ADMIN_TOKEN = "admin-token-0123456789"
NOW = 1_800_000_000.0
ROBOT = TokenSubject("team", ObjectRef("robot", "uid-robot"))


class Cluster:
    """A fake registry read: (kind, namespace, name) → uid."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], str] = {
            ("ServiceAccount", "team", "robot"): "uid-robot",
            ("Pod", "team", "p"): "uid-p",
            ("Secret", "team", "s"): "uid-s",
        }
        self.asked: list[tuple[str, str, str]] = []

    def lookup(self, kind: str, namespace: str, name: str) -> str | None:
        self.asked.append((kind, namespace, name))
        return self.objects.get((kind, namespace, name))


@pytest.fixture
def cluster() -> Cluster:
    return Cluster()


@pytest.fixture
def tokens() -> ServiceAccountTokens:
    return ServiceAccountTokens(key=ec.generate_private_key(ec.SECP256R1()),
                                clock=lambda: NOW, new_id=lambda: "jti-1")


@pytest.fixture
def authenticator(tokens: ServiceAccountTokens, cluster: Cluster) -> Authenticator:
    return Authenticator({ADMIN_TOKEN: admin_user()}, service_accounts=tokens,
                         lookup=cluster.lookup)


def bearer(authenticator: Authenticator, token: str) -> UserInfo | None:
    return authenticator.authenticate(authorization_header=f"Bearer {token}", peercert=None)


def issue(tokens: ServiceAccountTokens, subject: TokenSubject = ROBOT,
          audiences: tuple[str, ...] = (DEFAULT_ISSUER,)) -> str:
    return tokens.issue(subject, audiences=audiences, expiration_seconds=3600).token


def test_service_account_user(authenticator: Authenticator, tokens: ServiceAccountTokens) -> None:
    assert bearer(authenticator, issue(tokens)) == UserInfo(
        name="system:serviceaccount:team:robot",
        groups=("system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated"),
        uid="uid-robot",
        extra=(("authentication.kubernetes.io/credential-id", ("JTI=jti-1",)),))


def test_pod_bound_token_carries_pod_and_node_extras(
        authenticator: Authenticator, tokens: ServiceAccountTokens, cluster: Cluster) -> None:
    subject = TokenSubject("team", ObjectRef("robot", "uid-robot"), pod=ObjectRef("p", "uid-p"),
                           node=ObjectRef("n1", "uid-n1"))
    user = bearer(authenticator, issue(tokens, subject))
    assert user is not None
    assert dict(user.extra) == {
        "authentication.kubernetes.io/credential-id": ("JTI=jti-1",),
        "authentication.kubernetes.io/node-name": ("n1",),
        "authentication.kubernetes.io/node-uid": ("uid-n1",),
        "authentication.kubernetes.io/pod-name": ("p",),
        "authentication.kubernetes.io/pod-uid": ("uid-p",),
    }
    # The node of a pod-bound token is informational: only the account and pod are checked.
    assert ("Node", "", "n1") not in cluster.asked


@pytest.mark.parametrize("gone", [("ServiceAccount", "team", "robot"), ("Pod", "team", "p")])
def test_token_dies_with_the_objects_it_names(
        authenticator: Authenticator, tokens: ServiceAccountTokens, cluster: Cluster,
        gone: tuple[str, str, str]) -> None:
    token = issue(tokens, TokenSubject("team", ObjectRef("robot", "uid-robot"),
                                       pod=ObjectRef("p", "uid-p")))
    assert bearer(authenticator, token) is not None
    del cluster.objects[gone]
    assert bearer(authenticator, token) is None
    assert "no longer exists" in authenticator.authenticate_token(token).error


def test_recreated_service_account_does_not_inherit_tokens(
        authenticator: Authenticator, tokens: ServiceAccountTokens, cluster: Cluster) -> None:
    token = issue(tokens)
    cluster.objects[("ServiceAccount", "team", "robot")] = "uid-new"
    result = authenticator.authenticate_token(token)
    assert result.user is None
    assert "does not match" in result.error


def test_secret_bound_token_checks_the_secret(
        authenticator: Authenticator, tokens: ServiceAccountTokens, cluster: Cluster) -> None:
    token = issue(tokens, TokenSubject("team", ObjectRef("robot", "uid-robot"),
                                       secret=ObjectRef("s", "uid-s")))
    assert bearer(authenticator, token) is not None
    cluster.objects[("Secret", "team", "s")] = "uid-other"
    assert bearer(authenticator, token) is None


def test_token_for_another_audience_is_not_an_api_credential(
        authenticator: Authenticator, tokens: ServiceAccountTokens) -> None:
    token = issue(tokens, audiences=("vault",))
    assert bearer(authenticator, token) is None
    review = authenticator.authenticate_token(token, audiences=["vault"])
    assert review.user is not None and review.audiences == ("vault",)


def test_foreign_or_garbage_tokens_are_rejected(authenticator: Authenticator) -> None:
    foreign = ServiceAccountTokens(key=ec.generate_private_key(ec.SECP256R1()),
                                   clock=lambda: NOW)
    assert bearer(authenticator, issue(foreign)) is None
    assert bearer(authenticator, "not.a.jwt") is None
    assert bearer(authenticator, "garbage") is None


def test_static_tokens_are_good_for_the_api_audiences_only(
        authenticator: Authenticator) -> None:
    assert authenticator.authenticate_token(ADMIN_TOKEN).audiences == (DEFAULT_ISSUER,)
    assert authenticator.authenticate_token(ADMIN_TOKEN, audiences=["vault"]).user is None


def test_without_service_accounts_jwts_are_just_unknown_tokens(
        tokens: ServiceAccountTokens) -> None:
    plain = Authenticator({ADMIN_TOKEN: admin_user()})
    assert bearer(plain, issue(tokens)) is None
    with pytest.raises(ValueError, match="both"):
        Authenticator({}, service_accounts=tokens)
