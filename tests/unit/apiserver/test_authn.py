"""Authentication from client certificates and bearer tokens."""

from __future__ import annotations

from typing import Any

import pytest

from steersman.apiserver import authn
from steersman.apiserver.authn import (
    Authenticator,
    UserInfo,
    admin_user,
    anonymous,
    bearer_token,
)

ADMIN_TOKEN = "admin-token-0123456789"
ADMIN = UserInfo(name="steersman-admin", groups=("system:masters", "system:authenticated"))


def peercert(*subject: tuple[str, str]) -> dict[str, Any]:
    """The shape ``ssl.SSLSocket.getpeercert()`` returns for a verified certificate."""
    return {
        "subject": tuple(((key, value),) for key, value in subject),
        "issuer": ((("commonName", "steersman-ca"),),),
        "version": 3,
        "serialNumber": "01",
    }


@pytest.fixture
def authenticator() -> Authenticator:
    return Authenticator({ADMIN_TOKEN: admin_user()})


def test_admin_user_matches_the_cluster_admin() -> None:
    assert admin_user() == ADMIN


def test_admin_token(authenticator: Authenticator) -> None:
    user = authenticator.authenticate(authorization_header=f"Bearer {ADMIN_TOKEN}", peercert=None)
    assert user == ADMIN


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer wrong-token",
        f"Bearer {ADMIN_TOKEN}x",
        f"Bearer {ADMIN_TOKEN[:-1]}",
        f"Basic {ADMIN_TOKEN}",
        ADMIN_TOKEN,
    ],
)
def test_anything_else_is_unauthenticated(authenticator: Authenticator, header: str | None) -> None:
    assert authenticator.authenticate(authorization_header=header, peercert=None) is None


def test_bearer_scheme_is_case_insensitive() -> None:
    assert bearer_token(f"bearer {ADMIN_TOKEN}") == ADMIN_TOKEN
    assert bearer_token(f"BEARER  {ADMIN_TOKEN} ") == ADMIN_TOKEN


def test_tokens_are_kept_only_as_digests(authenticator: Authenticator) -> None:
    assert ADMIN_TOKEN not in repr(vars(authenticator))


def test_client_certificate_names_user_and_groups(authenticator: Authenticator) -> None:
    cert = peercert(
        ("organizationName", "system:nodes"),
        ("organizationName", "team-a"),
        ("commonName", "system:node:n1"),
    )
    user = authenticator.authenticate(authorization_header=None, peercert=cert)
    assert user == UserInfo(
        name="system:node:n1", groups=("system:nodes", "team-a", "system:authenticated")
    )


def test_client_certificate_wins_over_a_token(authenticator: Authenticator) -> None:
    cert = peercert(("commonName", "jane"))
    user = authenticator.authenticate(authorization_header=f"Bearer {ADMIN_TOKEN}", peercert=cert)
    assert user == UserInfo(name="jane", groups=("system:authenticated",))


def test_certificate_users_are_remembered_by_subject(
        authenticator: Authenticator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(authn, "CERTIFICATE_USERS_LIMIT", 2)
    nodes = [peercert(("organizationName", "system:nodes"), ("commonName", f"system:node:n{i}"))
             for i in range(3)]
    first = authenticator.authenticate(authorization_header=None, peercert=nodes[0])
    again = authenticator.authenticate(authorization_header=None, peercert=dict(nodes[0]))
    assert first is again
    users = [authenticator.authenticate(authorization_header=None, peercert=cert)
             for cert in nodes]  # the third subject finds the table full and starts it over
    assert [u.name if u else None for u in users] == [f"system:node:n{i}" for i in range(3)]
    assert authenticator.authenticate(authorization_header=None, peercert=nodes[0]) == first


def test_a_subject_that_is_not_hashable_is_worked_out_every_time(
        authenticator: Authenticator) -> None:
    cert = {"subject": [[("commonName", "jane")], [("organizationName", "team-a")]]}
    user = authenticator.authenticate(authorization_header=None, peercert=cert)
    assert user == UserInfo(name="jane", groups=("team-a", "system:authenticated"))


@pytest.mark.parametrize("cert", [None, {}, peercert(("organizationName", "system:masters"))])
def test_a_certificate_without_a_common_name_falls_back_to_the_token(
    authenticator: Authenticator, cert: dict[str, Any] | None
) -> None:
    user = authenticator.authenticate(authorization_header=f"Bearer {ADMIN_TOKEN}", peercert=cert)
    assert user == ADMIN
    assert authenticator.authenticate(authorization_header=None, peercert=cert) is None


def test_add_and_remove_tokens(authenticator: Authenticator) -> None:
    joiner = UserInfo(name="system:bootstrap:abcdef", groups=("system:bootstrappers",), uid="u1")
    authenticator.add_token("abcdef.0123456789abcdef", joiner)
    user = authenticator.authenticate(
        authorization_header="Bearer abcdef.0123456789abcdef", peercert=None
    )
    assert user == UserInfo(
        name="system:bootstrap:abcdef",
        groups=("system:bootstrappers", "system:authenticated"),
        uid="u1",
    )
    authenticator.remove_token("abcdef.0123456789abcdef")
    authenticator.remove_token("never-added")
    assert (
        authenticator.authenticate(
            authorization_header="Bearer abcdef.0123456789abcdef", peercert=None
        )
        is None
    )
    assert authenticator.authenticate(authorization_header=f"Bearer {ADMIN_TOKEN}", peercert=None)


def test_an_empty_token_cannot_be_added(authenticator: Authenticator) -> None:
    with pytest.raises(ValueError, match="empty"):
        authenticator.add_token("", ADMIN)


def test_anonymous() -> None:
    assert anonymous() == UserInfo(name="system:anonymous", groups=("system:unauthenticated",))
