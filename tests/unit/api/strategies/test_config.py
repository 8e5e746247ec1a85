"""ConfigMap, Secret and ServiceAccount strategies."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.unit.api.strategies.helpers import causes, defaulted, update_causes

KEY_MSG = ("a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
           "(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "
           "'[-._a-zA-Z0-9]+')")


def configmap(**fields: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, **fields}


def secret(**fields: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, **fields}


@pytest.mark.parametrize(("obj", "expected"), [
    (configmap(data={"good.key": "v"}), []),
    (configmap(data={"bad key": "v"}), [f'data[bad key]: Invalid value: "bad key": {KEY_MSG}']),
    (configmap(data={"k": "v"}, binaryData={"k": "dg=="}),
     ['data[k]: Invalid value: "k": duplicate of key present in binaryData',
      'binaryData[k]: Invalid value: "k": duplicate of key present in data']),
    (configmap(data={"big": "x" * (1024 * 1024 + 1)}),
     [": Too long: must have at most 1048576 bytes"]),
])
def test_configmap_validation(obj: dict[str, Any], expected: list[str]) -> None:
    assert causes("", obj) == expected


def test_immutable_configmap_refuses_data_changes() -> None:
    old = configmap(data={"k": "v"}, immutable=True)
    assert update_causes("", configmap(data={"k": "w"}, immutable=True), old) == [
        "data: Forbidden: field is immutable when `immutable` is set"]
    assert update_causes("", configmap(data={"k": "w"}), configmap(data={"k": "v"})) == []


def test_secret_defaults_type_and_folds_string_data() -> None:
    out = defaulted("", secret(stringData={"password": "hunter2"}))
    assert out["type"] == "Opaque"
    assert out["data"] == {"password": base64.b64encode(b"hunter2").decode()}
    assert "stringData" not in out


@pytest.mark.parametrize(("obj", "expected"), [
    (secret(type="kubernetes.io/tls", data={"tls.crt": "eA=="}),
     ["data[tls.key]: Required value"]),
    (secret(type="kubernetes.io/basic-auth", data={}),
     ["data[username]: Required value", "data[password]: Required value"]),
    (secret(type="kubernetes.io/service-account-token"),
     ["metadata.annotations[kubernetes.io/service-account.name]: Required value"]),
    (secret(data={"k": "not base64!"}),
     ['data[k]: Invalid value: "<secret contents redacted>": must be base64-encoded']),
])
def test_secret_validation(obj: dict[str, Any], expected: list[str]) -> None:
    assert causes("", obj) == expected


def test_secret_type_is_immutable() -> None:
    assert update_causes("", secret(type="kubernetes.io/tls"), secret()) == [
        'type: Invalid value: "kubernetes.io/tls": field is immutable']
