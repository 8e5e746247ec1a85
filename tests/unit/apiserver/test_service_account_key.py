"""The service-account signing key on disk, and pods defaulting to the ``default`` account."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from steersman.api.builtin import builtin_registry
from steersman.apiserver.jws import key_id
from steersman.apiserver.pki import PkiError, ensure_service_account_key
from steersman.apiserver.serviceaccount_admission import ServiceAccountDefaults


def test_key_is_made_once_private_and_reused(tmp_path: Path) -> None:
    first = ensure_service_account_key(tmp_path / "pki")
    path = tmp_path / "pki" / "sa.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert isinstance(first.curve, ec.SECP256R1)
    path.chmod(0o644)
    again = ensure_service_account_key(tmp_path / "pki")
    assert key_id(again.public_key()) == key_id(first.public_key())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_unreadable_key_is_never_silently_replaced(tmp_path: Path) -> None:
    (tmp_path / "sa.key").write_text("not a key")
    with pytest.raises(PkiError, match=r"sa\.key"):
        ensure_service_account_key(tmp_path)
    assert (tmp_path / "sa.key").read_text() == "not a key"


async def _admit(obj: dict[str, Any], op: str = "CREATE", plural: str = "pods") -> None:
    info = builtin_registry().get("", "v1", plural)
    assert info is not None
    await ServiceAccountDefaults().admit(info, op, obj, None, dry_run=False)


@pytest.mark.parametrize(("spec", "account"), [
    ({}, "default"),
    ({"serviceAccountName": "robot"}, "robot"),
    ({"serviceAccount": "legacy"}, "legacy"),
])
async def test_new_pods_get_a_service_account(spec: dict[str, str], account: str) -> None:
    pod: dict[str, Any] = {"metadata": {"name": "p"}, "spec": {"containers": [], **spec}}
    await _admit(pod)
    assert pod["spec"]["serviceAccountName"] == pod["spec"]["serviceAccount"] == account


async def test_only_pod_creates_are_defaulted() -> None:
    update: dict[str, Any] = {"metadata": {"name": "p"}, "spec": {}}
    await _admit(update, op="UPDATE")
    config_map: dict[str, Any] = {"metadata": {"name": "c"}, "spec": {}}
    await _admit(config_map, plural="configmaps")
    assert update["spec"] == config_map["spec"] == {}
