"""storage.k8s.io StorageClass: defaults and validation.

Follows kubernetes/kubernetes ``pkg/apis/storage/v1/defaults.go`` (``reclaimPolicy:
Delete``, ``volumeBindingMode: Immediate``) and ``pkg/apis/storage/validation``: the
provisioner is a qualified name; reclaim policy and binding mode come from fixed sets;
provisioner, parameters, reclaim policy and binding mode cannot change after creation.
"""

from __future__ import annotations

from steersman.api.errors import FieldError, forbidden, required
from steersman.api.strategies._base import KindStrategy
from steersman.api.strategies._fields import check, is_qualified_name, one_of
from steersman.api.strategies.pods import set_default
from steersman.api.strategy import Object

CLASS_RECLAIM_POLICIES = ["Delete", "Retain"]
BINDING_MODES = ["Immediate", "WaitForFirstConsumer"]
_FIXED = ("provisioner", "parameters", "reclaimPolicy", "volumeBindingMode")


class StorageClassStrategy(KindStrategy):
    def default(self, obj: Object) -> None:
        set_default(obj, "reclaimPolicy", "Delete")
        set_default(obj, "volumeBindingMode", "Immediate")

    def validate_spec(self, obj: Object) -> list[FieldError]:
        provisioner = obj.get("provisioner")
        errs = ([required("provisioner")] if not provisioner
                else check("provisioner", str(provisioner), is_qualified_name))
        errs += one_of("reclaimPolicy", obj.get("reclaimPolicy"), CLASS_RECLAIM_POLICIES)
        return errs + one_of("volumeBindingMode", obj.get("volumeBindingMode"), BINDING_MODES)

    def validate_update(self, new: Object, old: Object) -> list[FieldError]:
        return [forbidden(field, f"updates to {field} are forbidden.")
                for field in _FIXED if new.get(field) != old.get(field)]
