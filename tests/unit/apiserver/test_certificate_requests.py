"""The ``approval`` and ``status`` subresources of CertificateSigningRequests."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from steersman.api.builtin import builtin_registry
from steersman.api.errors import StatusError
from steersman.apiserver.certificate_requests import approved_conditions, signed_status

Object = dict[str, Any]
INFO = builtin_registry().get("certificates.k8s.io", "v1", "certificatesigningrequests")
NOW = "2026-11-29T00:00:00Z"
CERT = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="  # "-----BEGIN CERTIFICATE-----\n"


def stored(**status: Any) -> Object:
    return {"metadata": {"name": "c", "resourceVersion": "7"}, "spec": {"signerName": "x/y"},
            "status": status}


def test_approval_changes_only_approved_and_denied() -> None:
    assert INFO is not None
    current = stored(conditions=[{"type": "Failed", "status": "True"}], certificate=CERT)
    body = {"spec": {"signerName": "changed"}, "status": {"certificate": "", "conditions": [
        {"type": "Approved", "reason": "ok"}, {"type": "Failed", "status": "False"}]}}
    result = approved_conditions(INFO, body, copy.deepcopy(current), NOW)
    assert result["spec"] == {"signerName": "x/y"}
    assert result["status"]["certificate"] == CERT
    assert result["status"]["conditions"] == [
        {"type": "Approved", "reason": "ok", "status": "True", "lastUpdateTime": NOW,
         "lastTransitionTime": NOW}, {"type": "Failed", "status": "True"}]


def test_an_approval_cannot_be_taken_back() -> None:
    assert INFO is not None
    current = stored(conditions=[{"type": "Approved", "status": "True"}])
    with pytest.raises(StatusError, match="may not remove a condition of type 'Approved'"):
        approved_conditions(INFO, {"status": {"conditions": []}}, current, NOW)


def test_the_signer_cannot_approve_or_replace_a_certificate() -> None:
    assert INFO is not None
    current = stored(conditions=[{"type": "Approved", "status": "True"}])
    body = {"status": {"certificate": CERT, "conditions": [{"type": "Denied"}]}}
    result = signed_status(INFO, body, copy.deepcopy(current), NOW)
    assert result["status"]["certificate"] == CERT
    assert [c["type"] for c in result["status"]["conditions"]] == ["Approved"]
    with pytest.raises(StatusError, match="may not modify existing certificate content"):
        signed_status(INFO, {"status": {"certificate": "b3RoZXI="}}, result, NOW)


def test_a_certificate_must_be_pem() -> None:
    assert INFO is not None
    with pytest.raises(StatusError, match="CERTIFICATE PEM block"):
        signed_status(INFO, {"status": {"certificate": "bm90IHBlbQ=="}}, stored(), NOW)
