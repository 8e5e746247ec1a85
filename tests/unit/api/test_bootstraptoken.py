"""Join token formats: kubeadm bootstrap tokens and the K10 form that pins the CA."""

from __future__ import annotations

import hashlib

import pytest

from steersman.api import bootstraptoken as bt

HASH = hashlib.sha256(b"ca").hexdigest()


def test_a_join_token_round_trips() -> None:
    token = bt.parse_join_token(f"  K10{HASH}::abcdef.0123456789abcdef\n")
    assert token.ca_hash == HASH
    assert token.bootstrap == bt.BootstrapToken("abcdef", "0123456789abcdef")
    assert str(token) == f"K10{HASH}::abcdef.0123456789abcdef"
    assert token.bootstrap.secret_name == "bootstrap-token-abcdef"
    assert token.bootstrap.user_name == "system:bootstrap:abcdef"


@pytest.mark.parametrize(("text", "complaint"), [
    ("abcdef.0123456789abcdef", "must look like K10"),
    (f"K10{HASH[:-1]}::abcdef.0123456789abcdef", "64 lowercase hex"),
    (f"K10{HASH.upper()}::abcdef.0123456789abcdef", "64 lowercase hex"),
    (f"K10{HASH}::ABCDEF.0123456789abcdef", "6-character id"),
    (f"K10{HASH}::abcdef.0123456789", "16-character secret"),
    (f"K10{HASH}::abcdef:0123456789abcdef", "<id>.<secret>"),
])
def test_malformed_join_tokens_say_what_is_wrong(text: str, complaint: str) -> None:
    with pytest.raises(bt.TokenFormatError, match=complaint):
        bt.parse_join_token(text)


def test_bootstrap_tokens_have_the_kubeadm_shape() -> None:
    assert bt.parse_bootstrap_token("abc123.0123456789abcdef") is not None
    for bad in ("abc12.0123456789abcdef", "abc123.0123456789abcde", "abc123-0123456789abcdef",
                "eyJhbGciOi.x.y"):
        assert bt.parse_bootstrap_token(bad) is None
    minted = {str(bt.new_bootstrap_token()) for _ in range(20)}
    assert len(minted) == 20
    assert all(bt.parse_bootstrap_token(token) is not None for token in minted)


def test_the_ca_hash_is_the_sha256_of_the_served_bytes() -> None:
    assert bt.ca_sha256(b"ca") == HASH


def test_the_secret_is_what_kubeadm_writes() -> None:
    token = bt.BootstrapToken("abcdef", "0123456789abcdef")
    secret = bt.bootstrap_token_secret(token, description="d", expiration="2030-01-01T00:00:00Z",
                                       extra_groups=("system:bootstrappers:workers",))
    assert secret["type"] == "bootstrap.kubernetes.io/token"
    assert secret["metadata"] == {"name": "bootstrap-token-abcdef", "namespace": "kube-system"}
    assert secret["stringData"] == {
        "token-id": "abcdef", "token-secret": "0123456789abcdef",
        "usage-bootstrap-authentication": "true", "description": "d",
        "expiration": "2030-01-01T00:00:00Z",
        "auth-extra-groups": "system:bootstrappers:workers"}
