"""ConfigMaps, Secrets and ServiceAccounts: keys, sizes, secret types and immutability.

Follows kubernetes/kubernetes ``pkg/apis/core/validation/validation.go`` (``ValidateConfigMap``,
``ValidateSecret`` and their ``…Update`` forms). A Secret's ``stringData`` is write-only:
kube-apiserver's conversion folds it into ``data`` (base64) before storing, so ``default``
does the same and no client ever reads ``stringData`` back.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from steersman.api.errors import FieldError, forbidden, invalid, required, too_long
from steersman.api.strategies._base import KindStrategy, ensure, items, mapping
from steersman.api.strategies._fields import check, immutable, is_config_key, is_dns1123_subdomain
from steersman.api.strategy import Object

MAX_SIZE = 1024 * 1024
IMMUTABLE_WHEN_SET = "field is immutable when `immutable` is set"
SA_NAME_ANNOTATION = "kubernetes.io/service-account.name"
_REQUIRED_KEYS: dict[str, tuple[str, ...]] = {
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
}


def _validate_keys(bag: Any, path: str, other: Any, other_name: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if not isinstance(bag, dict):
        return errs
    for key in bag:
        errs += check(f"{path}[{key}]", key, is_config_key)
        if isinstance(other, dict) and key in other:
            errs.append(invalid(f"{path}[{key}]", key, f"duplicate of key present in {other_name}"))
    return errs


def _decoded_size(value: Any) -> int | None:
    """Length of a base64 value once decoded; ``None`` when it is not base64."""
    if not isinstance(value, str):
        return None
    try:
        return len(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        return None


def _validate_immutable_data(new: Object, old: Object, keys: tuple[str, ...]) -> list[FieldError]:
    if old.get("immutable") is not True:
        return []
    errs: list[FieldError] = []
    if new.get("immutable") is not True:
        errs.append(forbidden("immutable", IMMUTABLE_WHEN_SET))
    for key in keys:
        if (new.get(key) or {}) != (old.get(key) or {}):
            errs.append(forbidden(key, IMMUTABLE_WHEN_SET))
    return errs


class ConfigMapStrategy(KindStrategy):
    def validate_spec(self, obj: Object) -> list[FieldError]:
        data, binary = obj.get("data"), obj.get("binaryData")
        errs = _validate_keys(data, "data", binary, "binaryData")
        errs += _validate_keys(binary, "binaryData", data, "data")
        size = sum(len(str(v).encode()) for v in (data or {}).values())
        for key, value in (binary or {}).items():
            decoded = _decoded_size(value)
            if decoded is None:
                errs.append(invalid(f"binaryData[{key}]", "<binary>", "must be base64-encoded"))
            size += decoded or 0
        if size > MAX_SIZE:
            errs.append(too_long("", MAX_SIZE))
        return errs

    def validate_update(self, new: Object, old: Object) -> list[FieldError]:
        return _validate_immutable_data(new, old, ("data", "binaryData"))


class SecretStrategy(KindStrategy):
    def default(self, obj: Object) -> None:
        if obj.get("type") in (None, ""):
            obj["type"] = "Opaque"
        string_data = obj.pop("stringData", None)
        if isinstance(string_data, dict) and string_data:
            data = ensure(obj, "data")
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()

    def validate_spec(self, obj: Object) -> list[FieldError]:
        data = obj.get("data") or {}
        errs = _validate_keys(data, "data", None, "")
        size = 0
        for key, value in data.items() if isinstance(data, dict) else ():
            decoded = _decoded_size(value)
            if decoded is None:
                errs.append(invalid(f"data[{key}]", "<secret contents redacted>",
                                    "must be base64-encoded"))
            size += decoded or 0
        if size > MAX_SIZE:
            errs.append(too_long("data", MAX_SIZE))
        return errs + _validate_secret_type(obj, data if isinstance(data, dict) else {})

    def validate_update(self, new: Object, old: Object) -> list[FieldError]:
        errs = immutable("type", new.get("type"), old.get("type"))
        return errs + _validate_immutable_data(new, old, ("data",))


def _validate_secret_type(obj: Object, data: dict[str, Any]) -> list[FieldError]:
    kind = obj.get("type")
    if kind == "kubernetes.io/service-account-token":
        annotations = mapping(obj, "metadata").get("annotations") or {}
        if not annotations.get(SA_NAME_ANNOTATION):
            return [required(f"metadata.annotations[{SA_NAME_ANNOTATION}]")]
        return []
    if kind == "kubernetes.io/basic-auth":
        if "username" not in data and "password" not in data:
            return [required("data[username]"), required("data[password]")]
        return []
    return [required(f"data[{key}]") for key in _REQUIRED_KEYS.get(str(kind), ())
            if key not in data]


class ServiceAccountStrategy(KindStrategy):
    def validate_spec(self, obj: Object) -> list[FieldError]:
        errs: list[FieldError] = []
        for kind in ("secrets", "imagePullSecrets"):
            for i, ref in enumerate(items(obj, kind)):
                name = ref.get("name") if isinstance(ref, dict) else None
                if name:
                    errs += check(f"{kind}[{i}].name", name, is_dns1123_subdomain)
        return errs
