"""CustomResourceDefinition defaulting and validation (apiextensions.k8s.io/v1).

Follows kubernetes/apiextensions-apiserver ``pkg/apis/apiextensions/v1/defaults.go`` and
``pkg/apis/apiextensions/validation/validation.go``, with its field paths and messages:
the name is ``<plural>.<group>``; names, scope, versions (unique, exactly one storage
version), each version's ``schema.openAPIV3Schema`` (structural: see
:mod:`steersman.api.strategies._crd_schema`), ``subresources`` and
``additionalPrinterColumns``; group, plural and scope are immutable. ``status.storedVersions``
gains the storage version on every write, as the registry strategy does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steersman.api.errors import FieldError, invalid, not_supported, required
from steersman.api.meta import is_dns1035_label, is_dns1123_subdomain
from steersman.api.strategies._base import KindStrategy, ensure, items, mapping
from steersman.api.strategies._crd_schema import validate_schema
from steersman.api.strategies._fields import FIELD_IMMUTABLE, invalid_shown
from steersman.api.strategy import Object

SCOPES = ["Cluster", "Namespaced"]
COLUMN_TYPES = ["boolean", "date", "integer", "number", "string"]
COLUMN_FORMATS = ["byte", "date", "date-time", "double", "float", "int32", "int64", "password"]
_VERSIONS_SHOWN = "[]apiextensions.CustomResourceDefinitionVersion{...}"


class CustomResourceDefinitionStrategy(KindStrategy):
    def default(self, obj: Object) -> None:
        spec = ensure(obj, "spec")
        names = ensure(spec, "names")
        kind = names.get("kind")
        if isinstance(kind, str) and kind:
            names.setdefault("singular", kind.lower())
            names.setdefault("listKind", f"{kind}List")
        if not isinstance(spec.get("conversion"), dict):
            spec["conversion"] = {"strategy": "None"}
        _record_storage_version(obj, spec)

    def validate(self, obj: Object) -> list[FieldError]:
        return super().validate(obj) + _check_crd_name(obj)

    def validate_spec(self, obj: Object) -> list[FieldError]:
        spec = mapping(obj, "spec")
        errs = _check_group(spec.get("group"))
        scope = spec.get("scope")
        if not scope:
            errs.append(required("spec.scope"))
        elif scope not in SCOPES:
            errs.append(not_supported("spec.scope", scope, SCOPES))
        errs += _check_versions(items(spec, "versions"))
        errs += _check_names(mapping(spec, "names"), "spec.names", spec_names=True)
        errs += _check_conversion(mapping(spec, "conversion"))
        return errs

    def validate_update(self, new: Object, old: Object) -> list[FieldError]:
        errs: list[FieldError] = []
        new_spec, old_spec = mapping(new, "spec"), mapping(old, "spec")
        for path, key in (("spec.group", "group"), ("spec.scope", "scope")):
            if new_spec.get(key) != old_spec.get(key):
                errs.append(invalid(path, new_spec.get(key), FIELD_IMMUTABLE))
        plural = mapping(new_spec, "names").get("plural")
        if plural != mapping(old_spec, "names").get("plural"):
            errs.append(invalid("spec.names.plural", plural, FIELD_IMMUTABLE))
        return errs


def _record_storage_version(obj: Object, spec: Mapping[str, Any]) -> None:
    for version in spec.get("versions") or ():
        if isinstance(version, Mapping) and version.get("storage"):
            status = ensure(obj, "status")
            stored = status.get("storedVersions")
            if not isinstance(stored, list):
                stored = status["storedVersions"] = []
            if version.get("name") not in stored:
                stored.append(version.get("name"))
            return


def _check_crd_name(obj: Object) -> list[FieldError]:
    name = mapping(obj, "metadata").get("name")
    spec = mapping(obj, "spec")
    wanted = f"{mapping(spec, 'names').get('plural', '')}.{spec.get('group', '')}"
    if not name or name == wanted:
        return []
    return [invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group')]


def _check_group(group: Any) -> list[FieldError]:
    if not group:
        return [required("spec.group")]
    problems = is_dns1123_subdomain(str(group))
    if problems:
        return [invalid("spec.group", group, ",".join(problems))]
    if "." not in str(group):
        return [invalid("spec.group", group, "should be a domain with at least one dot")]
    return []


def _check_names(names: Mapping[str, Any], path: str, *, spec_names: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    if spec_names:
        errs += [required(f"{path}.{key}") for key in ("plural", "singular", "kind", "listKind")
                 if not names.get(key)]
    for key in ("plural", "singular"):
        value = str(names.get(key) or "")
        if value and is_dns1035_label(value):
            errs.append(invalid(f"{path}.{key}", value, ",".join(is_dns1035_label(value))))
    for key in ("kind", "listKind"):
        value = str(names.get(key) or "")
        problems = is_dns1035_label(value.lower()) if value else []
        if problems:
            errs.append(invalid(f"{path}.{key}", value, "may have mixed case, but should "
                                                       "otherwise match: " + ",".join(problems)))
    errs += _check_label_list(names.get("shortNames"), f"{path}.shortNames")
    if names.get("kind") and names.get("kind") == names.get("listKind"):
        errs.append(invalid(f"{path}.listKind", names.get("listKind"),
                            "kind and listKind may not be the same"))
    errs += _check_label_list(names.get("categories"), f"{path}.categories")
    return errs


def _check_label_list(values: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for index, value in enumerate(values if isinstance(values, list) else []):
        problems = is_dns1035_label(str(value))
        if problems:
            errs.append(invalid(f"{path}[{index}]", value, ",".join(problems)))
    return errs


def _check_conversion(conversion: Mapping[str, Any]) -> list[FieldError]:
    strategy = conversion.get("strategy")
    if not strategy:
        return [required("spec.conversion.strategy")]
    if strategy not in ("None", "Webhook"):
        return [not_supported("spec.conversion.strategy", strategy, ["None", "Webhook"])]
    if strategy == "Webhook":
        return [invalid("spec.conversion.strategy", strategy,
                        "conversion webhooks are not supported by this server; use None")]
    return []


def _check_versions(versions: list[Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    names: list[Any] = []
    for index, version in enumerate(versions):
        path = f"spec.versions[{index}]"
        if not isinstance(version, Mapping):
            errs.append(invalid(path, version, "must be an object"))
            continue
        names.append(version.get("name"))
        errs += _check_version(version, path)
    if len(set(map(str, names))) != len(names):
        errs.append(invalid_shown("spec.versions", _VERSIONS_SHOWN,
                                  "must contain unique version names"))
    storage = [v for v in versions if isinstance(v, Mapping) and v.get("storage")]
    if len(storage) != 1:
        errs.append(invalid_shown("spec.versions", _VERSIONS_SHOWN,
                                  "must have exactly one version marked as storage version"))
    return errs


def _check_version(version: Mapping[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    name = str(version.get("name") or "")
    problems = is_dns1035_label(name)
    if problems:
        errs.append(invalid(f"{path}.name", name, ",".join(problems)))
    subresources = mapping(version, "subresources")
    schema = mapping(version, "schema").get("openAPIV3Schema")
    if not isinstance(schema, Mapping):
        errs.append(required(f"{path}.schema.openAPIV3Schema"))
    else:
        errs += validate_schema(schema, f"{path}.schema.openAPIV3Schema")
    errs += _check_subresources(subresources, f"{path}.subresources")
    for index, column in enumerate(items(version, "additionalPrinterColumns")):
        errs += _check_column(column, f"{path}.additionalPrinterColumns[{index}]")
    return errs


def _check_subresources(subresources: Mapping[str, Any], path: str) -> list[FieldError]:
    if "scale" not in subresources:
        return []
    scale = mapping(subresources, "scale")
    errs = _check_scale_path(scale, path, "specReplicasPath", (".spec.",), ".spec", True)
    errs += _check_scale_path(scale, path, "statusReplicasPath", (".status.",), ".status", True)
    errs += _check_scale_path(scale, path, "labelSelectorPath", (".spec.", ".status."),
                              "either .spec or .status", False)
    return errs


def _check_scale_path(scale: Mapping[str, Any], path: str, key: str, prefixes: tuple[str, ...],
                      where: str, needed: bool) -> list[FieldError]:
    value = scale.get(key)
    field = f"{path}.scale.{key}"
    if not value:
        return [required(field)] if needed else []
    problems = _simple_json_path(field, str(value))
    if problems:
        return problems
    if not str(value).startswith(prefixes):
        return [invalid(field, value, f"should be a json path under {where}")]
    return []


def _simple_json_path(path: str, value: str) -> list[FieldError]:
    if not value:
        return [invalid(path, value, "must not be empty")]
    if not value.startswith("."):
        return [invalid(path, value, "must be a simple json path starting with .")]
    return []


def _check_column(column: Any, path: str) -> list[FieldError]:
    if not isinstance(column, Mapping):
        return [invalid(path, column, "must be an object")]
    errs: list[FieldError] = []
    if not column.get("name"):
        errs.append(required(f"{path}.name"))
    kind = column.get("type")
    if not kind:
        errs.append(required(f"{path}.type", f"must be one of {','.join(COLUMN_TYPES)}"))
    elif kind not in COLUMN_TYPES:
        errs.append(invalid(f"{path}.type", kind, f"must be one of {','.join(COLUMN_TYPES)}"))
    form = column.get("format")
    if form and form not in COLUMN_FORMATS:
        errs.append(invalid(f"{path}.format", form,
                            f"must be one of {','.join(COLUMN_FORMATS)}"))
    json_path = column.get("jsonPath")
    if not json_path:
        errs.append(required(f"{path}.JSONPath"))
    else:
        errs += _simple_json_path(f"{path}.JSONPath", str(json_path))
    return errs
