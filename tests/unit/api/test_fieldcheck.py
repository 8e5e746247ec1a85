"""Unknown-field and type checks for ``fieldValidation``, against built-in and CRD schemas."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from steersman.api import fieldcheck, schema
from steersman.api.fieldcheck import CompiledSchema

DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "labels": {"app": "web", "any/key.example.com": "x"},
                 "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {".": {}}}}]},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {"name": "a", "image": "nginx",
                     "resources": {"limits": {"cpu": "500m", "memory": 1024},
                                   "requests": {"cpu": 0.5}}},
                    {"name": "b", "image": "busybox", "ports": [{"containerPort": 80}]},
                ],
            },
        },
    },
}

WIDGET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "replicas": {"type": "integer"},
                "ratio": {"type": "number"},
                "port": {"x-kubernetes-int-or-string": True},
                "tags": {"type": "array", "items": {"type": "string"}},
                "maybe": {"type": "array", "items": {"type": "string", "nullable": True}},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "config": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "template": {"type": "object", "x-kubernetes-embedded-resource": True,
                             "properties": {"spec": {"type": "object", "properties": {
                                 "size": {"type": "integer"}}}}},
                "note": {"type": "string"},
                "empty": {"type": "object"},
            },
        },
        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    },
}


def deployment_schema() -> CompiledSchema:
    compiled = fieldcheck.compiled_for_kind("apps", "v1", "Deployment")
    assert compiled is not None
    return compiled


def with_changes(base: dict[str, Any], *changes: tuple[str, Any]) -> dict[str, Any]:
    """A deep copy of ``base`` with ``("a.b[0].c", value)`` assignments applied."""
    obj = copy.deepcopy(base)
    for path, value in changes:
        *parents, last = path.replace("[", ".[").split(".")
        target: Any = obj
        for part in parents:
            target = target[int(part[1:-1])] if part.startswith("[") else target[part]
        if last.startswith("["):
            target[int(last[1:-1])] = value
        else:
            target[last] = value
    return obj


TEMPLATE = "spec.template.spec"


@pytest.mark.parametrize(("changes", "expected"), [
    ((), []),
    ((("spec.foo", 1),), ["spec.foo"]),
    ((("foo", 1),), ["foo"]),
    ((("metadata.foo", 1),), ["metadata.foo"]),
    (((f"{TEMPLATE}.containers[1].imagePullPolisy", "Always"),),
     ["spec.template.spec.containers[1].imagePullPolisy"]),
    (((f"{TEMPLATE}.containers[1].ports[0].hostPorrt", 1),),
     ["spec.template.spec.containers[1].ports[0].hostPorrt"]),
    ((("spec.b", 1), ("spec.a", 2)), ["spec.b", "spec.a"]),
    (((f"{TEMPLATE}.containers[0].resources.limits.example/gpu", 1),), []),
    ((("spec.selector.matchLabels.anything", "x"),), []),
    ((("metadata.managedFields[0].fieldsV1", {"f:anything": {"k:x": {}}}),), []),
    ((("spec.strategy.rollingUpdate.extra", {"deep": 1}),), ["spec.strategy.rollingUpdate.extra"]),
], ids=lambda v: repr(v)[:60])
def test_unknown_fields_builtin(changes: tuple[tuple[str, Any], ...], expected: list[str]) -> None:
    obj = with_changes(DEPLOYMENT, *changes)
    assert fieldcheck.unknown_fields(obj, deployment_schema()) == expected


def test_unknown_fields_accepts_a_plain_definition() -> None:
    definition = schema.definition_for("apps", "v1", "Deployment")
    assert definition is not None
    assert fieldcheck.unknown_fields(with_changes(DEPLOYMENT, ("spec.x", 1)), definition) == [
        "spec.x"]


WIDGET: dict[str, Any] = {
    "apiVersion": "example.com/v1", "kind": "Widget",
    "metadata": {"name": "w", "labels": {"a": "b"}},
    "spec": {"replicas": 1, "ratio": 0.5, "port": "http", "tags": ["a"], "labels": {"x": "y"},
             "config": {"free": {"form": [1, 2]}},
             "template": {"apiVersion": "v1", "kind": "Thing", "metadata": {"name": "t"},
                          "spec": {"size": 1}}},
    "status": {"anything": True},
}


@pytest.mark.parametrize(("changes", "expected"), [
    ((), []),
    ((("spec.foo", 1),), ["spec.foo"]),
    ((("metadata.foo", 1),), ["metadata.foo"]),
    ((("spec.config.more", {"x": 1}),), []),
    ((("status.deep", {"x": [1]}),), []),
    ((("spec.template.spec.bad", 1),), ["spec.template.spec.bad"]),
    ((("spec.template.metadata.nam", "x"),), ["spec.template.metadata.nam"]),
    ((("spec.labels.anything", "x"),), []),
    ((("spec.empty", {"x": 1}),), ["spec.empty.x"]),
], ids=lambda v: repr(v)[:60])
def test_unknown_fields_crd(changes: tuple[tuple[str, Any], ...], expected: list[str]) -> None:
    obj = with_changes(WIDGET, *changes)
    assert fieldcheck.unknown_fields(obj, WIDGET_SCHEMA) == expected


def test_preserve_unknown_root_still_checks_metadata() -> None:
    loose = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    obj = {"apiVersion": "x/v1", "kind": "X", "metadata": {"nme": "a"}, "spec": {"any": 1}}
    assert fieldcheck.unknown_fields(obj, loose) == ["metadata.nme"]


GO = "json: cannot unmarshal"


@pytest.mark.parametrize(("changes", "field", "message"), [
    ((("spec.replicas", "3"),), "spec.replicas",
     f"{GO} string into Go struct field DeploymentSpec.spec.replicas of type int32"),
    ((("spec.replicas", 1.5),), "spec.replicas",
     f"{GO} number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32"),
    ((("spec.replicas", 2**40),), "spec.replicas",
     f"{GO} number 1099511627776 into Go struct field DeploymentSpec.spec.replicas of type int32"),
    ((("spec.paused", "yes"),), "spec.paused",
     f"{GO} string into Go struct field DeploymentSpec.spec.paused of type bool"),
    ((("spec.strategy.rollingUpdate.maxSurge", True),), "spec.strategy.rollingUpdate.maxSurge",
     f"{GO} bool into Go struct field RollingUpdateDeployment"
     ".spec.strategy.rollingUpdate.maxSurge of type int32"),
    (((f"{TEMPLATE}.containers", "nginx"),), f"{TEMPLATE}.containers",
     f"{GO} string into Go struct field PodSpec.spec.template.spec.containers "
     "of type []v1.Container"),
    (((f"{TEMPLATE}.containers[1].ports[0].containerPort", "80"),),
     f"{TEMPLATE}.containers[1].ports[0].containerPort",
     f"{GO} string into Go struct field ContainerPort"
     ".spec.template.spec.containers.ports.containerPort of type int32"),
    ((("metadata.labels.app", 1),), "metadata.labels.app",
     f"{GO} number into Go struct field ObjectMeta.metadata.labels of type string"),
    ((("spec.template", []),), "spec.template",
     f"{GO} array into Go struct field DeploymentSpec.spec.template of type v1.PodTemplateSpec"),
    (((f"{TEMPLATE}.containers[0].resources.limits.cpu", True),),
     f"{TEMPLATE}.containers[0].resources.limits.cpu",
     "quantities must match the regular expression "
     "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
], ids=lambda v: repr(v)[:60])
def test_type_errors_builtin(changes: tuple[tuple[str, Any], ...], field: str,
                             message: str) -> None:
    errors = fieldcheck.type_errors(with_changes(DEPLOYMENT, *changes), deployment_schema())
    assert [(e.field, e.reason, e.message) for e in errors] == [
        (field, "FieldValueTypeInvalid", message)]


@pytest.mark.parametrize("changes", [
    (),
    (("spec.replicas", None),),
    (("spec.strategy.rollingUpdate.maxSurge", 3),),
    ((f"{TEMPLATE}.containers[0].resources.limits.cpu", 2),),
    ((f"{TEMPLATE}.containers[0].resources.limits.cpu", "1.5"),),
    (("metadata.labels", None),),
    (("metadata.creationTimestamp", None),),
], ids=lambda v: repr(v)[:60])
def test_type_errors_builtin_accepts(changes: tuple[tuple[str, Any], ...]) -> None:
    obj = with_changes(DEPLOYMENT, *changes)
    assert fieldcheck.type_errors(obj, deployment_schema()) == []


def _crd_message(path: str, actual: str, expected: str) -> str:
    return f'Invalid value: "{actual}": {path} in body must be of type {expected}: "{actual}"'


@pytest.mark.parametrize(("changes", "expected"), [
    ((), []),
    ((("spec.replicas", "3"),), [("spec.replicas", _crd_message("spec.replicas", "string",
                                                                 "integer"))]),
    ((("spec.replicas", 2.0),), []),
    ((("spec.replicas", 2.5),), [("spec.replicas", _crd_message("spec.replicas", "number",
                                                                 "integer"))]),
    ((("spec.ratio", 1),), []),
    ((("spec.port", 8080),), []),
    ((("spec.port", True),), [("spec.port", _crd_message("spec.port", "boolean",
                                                         "string,integer"))]),
    ((("spec.tags", ["a", 1]),), [("spec.tags[1]", _crd_message("spec.tags[1]", "integer",
                                                                 "string"))]),
    ((("spec.tags", [None]),), [("spec.tags[0]", _crd_message("spec.tags[0]", "null",
                                                               "string"))]),
    ((("spec.maybe", [None, "x"]),), []),
    ((("spec.note", None),), []),
    ((("spec.labels.x", {"a": 1}),), [("spec.labels.x", _crd_message("spec.labels.x", "object",
                                                                      "string"))]),
    ((("spec.config", {"n": [1, "a", None]}),), []),
], ids=lambda v: repr(v)[:60])
def test_type_errors_crd(changes: tuple[tuple[str, Any], ...],
                         expected: list[tuple[str, str]]) -> None:
    errors = fieldcheck.type_errors(with_changes(WIDGET, *changes), WIDGET_SCHEMA)
    assert [(e.field, e.message) for e in errors] == expected


def test_strict_decoding_error_lists_every_field() -> None:
    one = fieldcheck.strict_decoding_error("Deployment", "v1", ["spec.foo"])
    assert (one.code, one.reason) == (400, "BadRequest")
    assert one.message == ('Deployment in version "v1" cannot be handled as a Deployment: '
                           'strict decoding error: unknown field "spec.foo"')
    two = fieldcheck.strict_decoding_error("Deployment", "v1", ["spec.a", "spec.b"])
    assert two.message.endswith(
        'strict decoding error: unknown field "spec.a", unknown field "spec.b"')


def test_warn_texts_and_header() -> None:
    warnings = fieldcheck.unknown_field_warnings(["spec.foo", "spec.bar"])
    assert warnings == ['unknown field "spec.foo"', 'unknown field "spec.bar"']
    assert fieldcheck.warning_header(warnings[0]) == '299 - "unknown field \\"spec.foo\\""'


def test_decoding_error_uses_the_first_type_error() -> None:
    obj = with_changes(DEPLOYMENT, ("spec.replicas", "3"), ("spec.paused", "no"))
    errors = fieldcheck.type_errors(obj, deployment_schema())
    status = fieldcheck.decoding_error("Deployment", "v1", errors[0])
    assert status.code == 400
    assert status.message == (
        'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal '
        "string into Go struct field DeploymentSpec.spec.replicas of type int32")


def test_recursive_definitions_compile() -> None:
    compiled = fieldcheck.compiled_for_kind("apiextensions.k8s.io", "v1",
                                            "CustomResourceDefinition")
    assert compiled is not None
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "widgets.example.com"},
           "spec": {"group": "example.com", "scope": "Namespaced",
                    "names": {"plural": "widgets", "kind": "Widget"},
                    "versions": [{"name": "v1", "served": True, "storage": True,
                                  "schema": {"openAPIV3Schema": WIDGET_SCHEMA}}]}}
    assert fieldcheck.unknown_fields(crd, compiled) == []
    assert fieldcheck.type_errors(crd, compiled) == []
    bad = with_changes(crd, ("spec.versions[0].schema.openAPIV3Schema.properties.spec.typo", 1))
    assert fieldcheck.unknown_fields(bad, compiled) == [
        "spec.versions[0].schema.openAPIV3Schema.properties.spec.typo"]


@pytest.mark.parametrize("changes", [
    (),
    (("spec.foo", 1),),
    (("metadata.managedFields[0].fieldsV1", {"f:anything": {"k:x": {}}}),),
    (("spec.strategy.rollingUpdate.extra", {"deep": 1}),),
    ((f"{TEMPLATE}.containers[1].ports[0].hostPorrt", 1),),
    ((f"{TEMPLATE}.containers[0].resources.limits.example/gpu", 1),),
    (("spec.replicas", "3"),),
    (("spec.replicas", 2**40),),
    (("spec.replicas", None),),
    (("spec.template", []),),
    (("metadata.labels.app", 1),),
    ((f"{TEMPLATE}.containers[0].resources.limits.cpu", True),),
], ids=lambda v: repr(v)[:60])
def test_clean_is_the_detailed_walks_finding_nothing(changes: tuple[tuple[str, Any], ...]) -> None:
    obj = with_changes(DEPLOYMENT, *changes)
    compiled = deployment_schema()
    found = fieldcheck.type_errors(obj, compiled) or fieldcheck.unknown_fields(obj, compiled)
    assert fieldcheck.clean(obj, compiled) is not found


@pytest.mark.parametrize("changes", [
    (), (("spec.foo", 1),), (("spec.config.more", {"x": 1}),), (("spec.empty", {"x": 1}),),
    (("spec.replicas", "many"),),
], ids=lambda v: repr(v)[:60])
def test_clean_without_types_checks_unknown_fields_only(
        changes: tuple[tuple[str, Any], ...]) -> None:
    obj = with_changes(WIDGET, *changes)
    unknown = fieldcheck.unknown_fields(obj, WIDGET_SCHEMA)
    assert fieldcheck.clean(obj, WIDGET_SCHEMA, types=False) is not unknown
