"""StorageClass defaults, validation and the fields that cannot change."""

from __future__ import annotations

from tests.unit.api.strategies.helpers import causes, defaulted, update_causes

GROUP = "storage.k8s.io"
CLASS = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
         "metadata": {"name": "fast"}, "provisioner": "example.com/disk"}


def test_defaults_delete_and_immediate() -> None:
    out = defaulted(GROUP, dict(CLASS))
    assert (out["reclaimPolicy"], out["volumeBindingMode"]) == ("Delete", "Immediate")


def test_provisioner_policy_and_mode_are_checked() -> None:
    bad = {**CLASS, "provisioner": "", "reclaimPolicy": "Recycle",
           "volumeBindingMode": "Later"}
    assert causes(GROUP, bad) == [
        "provisioner: Required value",
        'reclaimPolicy: Unsupported value: "Recycle": supported values: "Delete", "Retain"',
        'volumeBindingMode: Unsupported value: "Later": supported values: "Immediate", '
        '"WaitForFirstConsumer"']


def test_provisioner_and_parameters_are_fixed() -> None:
    old = defaulted(GROUP, {**CLASS, "parameters": {"a": "1"}})
    new = {**old, "provisioner": "example.com/other", "parameters": {"a": "2"}}
    assert update_causes(GROUP, new, old) == [
        "provisioner: Forbidden: updates to provisioner are forbidden.",
        "parameters: Forbidden: updates to parameters are forbidden."]
    assert update_causes(GROUP, {**old, "allowVolumeExpansion": True}, old) == []
