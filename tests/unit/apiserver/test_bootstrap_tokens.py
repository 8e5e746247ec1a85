"""Bootstrap-token authentication and what a bootstrapper may do."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from steersman.apiserver.authn import Authenticator, UserInfo
from steersman.apiserver.bootstrap_tokens import (
    BootstrapTokenAuthenticator,
    bootstrapper_allowed,
    bootstrapper_denial,
)
from steersman.apiserver.requestinfo import parse_resource_path

Object = dict[str, Any]
NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z
TOKEN = "abcdef.0123456789abcdef"


def secret(**data: str) -> Object:
    values = {"token-id": "abcdef", "token-secret": "0123456789abcdef",
              "usage-bootstrap-authentication": "true", **data}
    return {"type": "bootstrap.kubernetes.io/token", "metadata": {"name": "bootstrap-token-abcdef"},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}}


def authenticator(stored: Object | None) -> BootstrapTokenAuthenticator:
    secrets = {} if stored is None else {stored["metadata"]["name"]: stored}
    return BootstrapTokenAuthenticator(secrets.get, clock=lambda: NOW)


def test_a_valid_token_is_a_bootstrapper() -> None:
    found = authenticator(secret(**{"auth-extra-groups": "system:bootstrappers:workers,evil"}))
    assert found.authenticate(TOKEN) == (
        "system:bootstrap:abcdef", ("system:bootstrappers", "system:bootstrappers:workers"))


@pytest.mark.parametrize("stored", [
    None,
    secret(**{"token-secret": "ffffffffffffffff"}),
    secret(**{"usage-bootstrap-authentication": "false"}),
    secret(expiration="2027-01-15T07:59:59Z"),
    secret(expiration="not a time"),
    {**secret(), "type": "Opaque"},
], ids=["absent", "wrong-secret", "no-auth-usage", "expired", "bad-expiration", "wrong-type"])
def test_invalid_tokens_are_refused(stored: Object | None) -> None:
    assert authenticator(stored).authenticate(TOKEN) is None


def test_an_unexpired_token_is_accepted_and_other_shapes_are_not_looked_up() -> None:
    assert authenticator(secret(expiration="2027-01-15T08:00:01Z")).authenticate(TOKEN)
    assert authenticator(secret()).authenticate("abcdef-0123456789abcdef") is None


def test_the_authenticator_adds_system_authenticated() -> None:
    check = authenticator(secret()).authenticate
    users = Authenticator({}, bootstrap=check)
    user = users.authenticate(authorization_header=f"Bearer {TOKEN}", peercert=None)
    assert user == UserInfo("system:bootstrap:abcdef",
                            ("system:bootstrappers", "system:authenticated"))
    assert users.authenticate(authorization_header="Bearer abcdef.ffffffffffffffff",
                              peercert=None) is None


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("POST", "/apis/certificates.k8s.io/v1/certificatesigningrequests", True),
    ("GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests", True),
    ("GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests/x", True),
    ("PUT", "/apis/certificates.k8s.io/v1/certificatesigningrequests/x/approval", False),
    ("GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests/x/status", False),
    ("DELETE", "/apis/certificates.k8s.io/v1/certificatesigningrequests/x", False),
    ("GET", "/api/v1/secrets", False),
    ("POST", "/api/v1/nodes", False),
    ("GET", "/api", True),
    ("GET", "/apis/certificates.k8s.io/v1", True),
    ("GET", "/openapi/v3/apis/certificates.k8s.io/v1", True),
    ("GET", "/version", True),
    ("GET", "/metrics", False),
])
def test_a_bootstrapper_reaches_only_csrs_and_discovery(method: str, path: str,
                                                         allowed: bool) -> None:
    assert bootstrapper_allowed(method, path, parse_resource_path(path)) is allowed


def test_denials_read_as_kube_apiserver_writes_them() -> None:
    user = "system:bootstrap:abcdef"
    pods = bootstrapper_denial(user, "GET", "/api/v1/namespaces/default/pods")
    assert pods is not None and pods.code == 403
    assert pods.message == (f'pods is forbidden: User "{user}" cannot list resource "pods" in '
                            'API group "" in the namespace "default"')
    approval = bootstrapper_denial(
        user, "PUT", "/apis/certificates.k8s.io/v1/certificatesigningrequests/x/approval")
    assert approval is not None and 'cannot update resource "certificatesigningrequests/' \
        'approval" in API group "certificates.k8s.io" at the cluster scope' in approval.message
    metrics = bootstrapper_denial(user, "GET", "/metrics")
    assert metrics is not None
    assert metrics.message == f'forbidden: User "{user}" cannot get path "/metrics"'
    assert bootstrapper_denial(
        user, "POST", "/apis/certificates.k8s.io/v1/certificatesigningrequests") is None
