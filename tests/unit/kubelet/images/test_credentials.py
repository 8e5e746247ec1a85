from __future__ import annotations

import base64
import json

import pytest

from steersman.kubelet.images.auth import parse_challenges
from steersman.kubelet.images.credentials import (
    Credential,
    credentials_from_secret,
    matching,
)
from steersman.kubelet.images.errors import ImageError
from steersman.kubelet.images.reference import parse_reference


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _secret(kind: str, key: str, document: object) -> dict[str, object]:
    return {"type": kind, "metadata": {"name": "regcred"},
            "data": {key: _b64(json.dumps(document).encode())}}


def test_bearer_and_basic_challenges() -> None:
    [bearer] = parse_challenges('Bearer realm="https://auth.example/token",'
                                'service="registry.example",scope="repository:a/b:pull,push"')
    assert bearer.scheme == "bearer"
    assert bearer.params == {"realm": "https://auth.example/token",
                             "service": "registry.example", "scope": "repository:a/b:pull,push"}
    basic, token = parse_challenges('Basic realm="Registry Realm", Bearer realm="r"')
    assert (basic.scheme, basic.params) == ("basic", {"realm": "Registry Realm"})
    assert (token.scheme, token.params) == ("bearer", {"realm": "r"})
    assert parse_challenges("") == []


def test_dockerconfigjson_auth_and_username_password() -> None:
    secret = _secret("kubernetes.io/dockerconfigjson", ".dockerconfigjson", {"auths": {
        "https://registry.example:5000/v1/": {"auth": _b64(b"alice:pa:ss")},
        "other.example": {"username": "bob", "password": "pw"},
        "empty.example": {}}})
    creds = credentials_from_secret(secret)
    assert [(c.username, c.password) for c in creds] == [("alice", "pa:ss"), ("bob", "pw")]
    assert "pa:ss" not in repr(creds)


def test_dockercfg_and_errors() -> None:
    secret = _secret("kubernetes.io/dockercfg", ".dockercfg",
                     {"r.example": {"auth": _b64(b"u:p")}})
    assert credentials_from_secret(secret) == [Credential("r.example", "u", "p")]
    with pytest.raises(ImageError, match=r"not kubernetes\.io/dockerconfigjson"):
        credentials_from_secret({"type": "Opaque", "data": {}})
    with pytest.raises(ImageError, match="base64 of user:password"):
        credentials_from_secret(_secret("kubernetes.io/dockercfg", ".dockercfg",
                                        {"r": {"auth": _b64(b"nocolon")}}))


@pytest.mark.parametrize(("key", "image", "matches"), [
    ("127.0.0.1:5000", "127.0.0.1:5000/a/b:v1", True),
    ("http://127.0.0.1:5000", "127.0.0.1:5000/a/b:v1", True),
    ("127.0.0.1:5001", "127.0.0.1:5000/a/b:v1", False),
    ("*.example.com", "reg.example.com/a", True),
    ("*.example.com", "example.com/a", False),
    ("reg.example.com/team", "reg.example.com/team/app", True),
    ("reg.example.com/team", "reg.example.com/teamx/app", False),
    ("https://index.docker.io/v1/", "busybox", True),
    ("docker.io", "user/app", True),
    ("quay.io", "busybox", False),
])
def test_matching(key: str, image: str, matches: bool) -> None:
    found = matching([Credential(key, "u", "p")], parse_reference(image))
    assert bool(found) is matches


def test_most_specific_first() -> None:
    creds = [Credential("reg.example.com", "a", "1"), Credential("reg.example.com/team", "b", "2")]
    ordered = matching(creds, parse_reference("reg.example.com/team/app"))
    assert [c.username for c in ordered] == ["b", "a"]
