"""CRD defaulting and validation; custom resources' schema validation, pruning, defaulting."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from steersman.api import crschema
from steersman.api.custom_resources import (
    CustomResourceStrategy,
    resource_infos,
    scale_of_custom,
    served_object,
    set_custom_replicas,
    version_priority,
)
from tests.unit.api.strategies.helpers import causes, defaulted, update_causes

GROUP = "apiextensions.k8s.io"
Obj = dict[str, Any]
SPEC_SCHEMA: Obj = {
    "type": "object",
    "properties": {
        "spec": {"type": "object", "required": ["size"], "properties": {
            "size": {"type": "string", "enum": ["a", "b"]},
            "replicas": {"type": "integer", "format": "int32", "minimum": 0, "maximum": 10,
                         "default": 1},
            "name": {"type": "string", "minLength": 1, "maxLength": 5, "pattern": "^[a-z]+$"},
            "tags": {"type": "array", "minItems": 1, "maxItems": 2,
                     "items": {"type": "string"}},
            "port": {"x-kubernetes-int-or-string": True},
            "note": {"type": "string", "nullable": True},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "ratio": {"type": "number", "exclusiveMinimum": True, "minimum": 0},
            "template": {"type": "object", "x-kubernetes-embedded-resource": True,
                         "properties": {"spec": {"type": "object", "properties": {
                             "x": {"type": "string"}}}}},
            "options": {"type": "object", "default": {},
                        "properties": {"verbose": {"type": "boolean", "default": False}}},
        }},
        "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
    },
}


def crd(**overrides: Any) -> Obj:
    version = {"name": "v1", "served": True, "storage": True,
               "schema": {"openAPIV3Schema": SPEC_SCHEMA}}
    body: Obj = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"plural": "widgets", "kind": "Widget"}, "versions": [version]},
    }
    for path, value in overrides.items():
        target = body
        steps = path.split("__")
        for step in steps[:-1]:
            target = target[int(step)] if isinstance(target, list) else target[step]
        if isinstance(target, list):
            target[int(steps[-1])] = value
        else:
            target[steps[-1]] = value
    return body


def test_crd_defaults() -> None:
    out = defaulted(GROUP, crd())
    assert out["spec"]["names"] == {"plural": "widgets", "kind": "Widget",
                                    "singular": "widget", "listKind": "WidgetList"}
    assert out["spec"]["conversion"] == {"strategy": "None"}
    assert out["status"] == {"storedVersions": ["v1"]}
    assert causes(GROUP, crd()) == []


V1 = {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": SPEC_SCHEMA}}
SEP = "spec__versions__0__schema__openAPIV3Schema"
PATH = "spec.versions[0].schema.openAPIV3Schema"


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"metadata": {"name": "wrong.example.com"}},
     'metadata.name: Invalid value: "wrong.example.com": must be spec.names.plural+"."'
     '+spec.group'),
    ({"spec__group": "example", "metadata": {"name": "widgets.example"}},
     'spec.group: Invalid value: "example": should be a domain with at least one dot'),
    ({"spec__scope": "Global"},
     'spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"'),
    ({"spec__names": {"plural": "widgets"}}, "spec.names.kind: Required value"),
    ({"spec__names": {"plural": "widgets", "kind": "Widget", "listKind": "Widget"}},
     'spec.names.listKind: Invalid value: "Widget": kind and listKind may not be the same'),
    ({"spec__names": {"plural": "widgets", "kind": "Wid_get"}},
     'spec.names.kind: Invalid value: "Wid_get": may have mixed case, but should otherwise '
     "match: a DNS-1035 label must consist"),
    ({"spec__names": {"plural": "widgets", "kind": "Widget", "shortNames": ["W"]}},
     'spec.names.shortNames[0]: Invalid value: "W"'),
    ({"spec__versions": [{**V1, "storage": False}]},
     "spec.versions: Invalid value: []apiextensions.CustomResourceDefinitionVersion{...}: "
     "must have exactly one version marked as storage version"),
    ({"spec__versions": [V1, V1]}, "must contain unique version names"),
    ({"spec__versions": [{**V1, "schema": {}}]},
     "spec.versions[0].schema.openAPIV3Schema: Required value"),
    ({f"{SEP}": {"type": "string"}},
     f'{PATH}.type: Invalid value: "string": must be object at the root'),
    ({f"{SEP}": {"properties": {}}},
     f"{PATH}.type: Required value: must not be empty at the root"),
    ({f"{SEP}": {"type": "object", "properties": {"spec": {"properties": {}}}}},
     f"{PATH}.properties[spec].type: Required value: must not be empty for specified "
     "object fields"),
    ({f"{SEP}": {"type": "object", "properties": {"spec": {"type": "array"}}}},
     f"{PATH}.properties[spec].items: Required value: must be specified"),
    ({f"{SEP}": {"type": "object", "properties": {"a": {"type": "thing"}}}},
     f'{PATH}.properties[a].type: Unsupported value: "thing": supported values: "array", '
     '"boolean", "integer", "number", "object", "string"'),
    ({f"{SEP}": {"type": "object", "properties": {"a": {"type": "integer", "default": "x"}}}},
     f'{PATH}.properties[a].default: Invalid value: "string":  in body must be of type '
     'integer: "string"'),
    ({f"{SEP}": {"type": "object", "properties": {"metadata": {"type": "object", "properties": {
        "labels": {"type": "object"}}}}}},
     f"{PATH}.properties[metadata]: Forbidden: must not specify anything other than name "
     "and generateName"),
    ({"spec__versions": [{**V1, "subresources": {"scale": {
        "specReplicasPath": "spec.replicas", "statusReplicasPath": ".spec.replicas"}}}]},
     'spec.versions[0].subresources.scale.specReplicasPath: Invalid value: "spec.replicas": '
     "must be a simple json path starting with ."),
    ({"spec__versions": [{**V1, "subresources": {"scale": {
        "specReplicasPath": ".spec.replicas", "statusReplicasPath": ".spec.replicas"}}}]},
     "spec.versions[0].subresources.scale.statusReplicasPath: Invalid value: "
     '".spec.replicas": should be a json path under .status'),
    ({"spec__versions": [{**V1, "additionalPrinterColumns": [{"name": "X", "type": "text",
                                                               "jsonPath": ".spec.x"}]}]},
     'spec.versions[0].additionalPrinterColumns[0].type: Invalid value: "text": must be one '
     "of boolean,date,integer,number,string"),
    ({"spec__conversion": {"strategy": "Magic"}},
     'spec.conversion.strategy: Unsupported value: "Magic": supported values: "None", '
     '"Webhook"'),
])
def test_crd_validation(overrides: Obj, expected: str) -> None:
    found = causes(GROUP, crd(**overrides))
    assert any(expected in cause for cause in found), found


def test_crd_immutable_fields() -> None:
    new = crd(spec__scope="Cluster")
    assert update_causes(GROUP, new, crd()) == [
        'spec.scope: Invalid value: "Cluster": field is immutable']


# --- custom resources ------------------------------------------------------------------


def widget(**spec: Any) -> Obj:
    return {"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w", "namespace": "default"}, "spec": {"size": "a", **spec}}


STRATEGY = CustomResourceStrategy({"schema": SPEC_SCHEMA})


def cr_causes(obj: Obj) -> list[str]:
    out = copy.deepcopy(obj)
    STRATEGY.default(out)
    return [f"{e.field}: {e.message}" if e.field else e.message for e in STRATEGY.validate(out)]


@pytest.mark.parametrize(("spec", "expected"), [
    ({"replicas": "three"}, 'spec.replicas: Invalid value: "string": spec.replicas in body must '
                            'be of type integer: "string"'),
    ({"size": None}, "spec.size: Required value"),
    ({"size": "x"}, 'spec.size: Unsupported value: "x": supported values: "a", "b"'),
    ({"replicas": -1}, "spec.replicas: Invalid value: -1: spec.replicas in body should be "
                       "greater than or equal to 0"),
    ({"replicas": 11}, "spec.replicas: Invalid value: 11: spec.replicas in body should be less "
                       "than or equal to 10"),
    ({"replicas": 2**31}, 'Invalid value: "": Checked value must be of type integer with '
                          "format int32 in spec.replicas"),
    ({"name": ""}, 'spec.name: Invalid value: "": spec.name in body should be at least 1 '
                   "chars long"),
    ({"name": "abcdef"}, "spec.name: Too long: may not be more than 5 bytes"),
    ({"name": "AB"}, "spec.name: Invalid value: \"AB\": spec.name in body should match "
                     "'^[a-z]+$'"),
    ({"tags": []}, "spec.tags: Invalid value: 0: spec.tags in body should have at least 1 "
                   "items"),
    ({"tags": ["a", "b", "c"]}, "spec.tags: Too many: 3: must have at most 2 items"),
    ({"tags": [None]}, 'spec.tags[0]: Invalid value: "null": spec.tags[0] in body must be of '
                       'type string: "null"'),
    ({"port": True}, 'spec.port: Invalid value: "boolean": spec.port in body must be of type '
                     'integer,string: "boolean"'),
    ({"ratio": 0}, "spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0"),
    ({"labels": {"a": 1}}, 'spec.labels.a: Invalid value: "integer": spec.labels.a in body '
                           'must be of type string: "integer"'),
    ({"template": {"spec": {}}}, "spec.template.apiVersion: Required value: must not be empty"),
])
def test_custom_resource_validation(spec: Obj, expected: str) -> None:
    assert expected in cr_causes(widget(**spec))


@pytest.mark.parametrize("spec", [
    {"replicas": 3, "port": 80}, {"port": "http"}, {"note": None}, {"replicas": 2.0},
    {"free": {"anything": [1, {"deep": True}]}}, {"ratio": 0.5},
    {"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}}},
])
def test_custom_resource_valid(spec: Obj) -> None:
    assert cr_causes(widget(**spec)) == []


@pytest.mark.parametrize(("given", "kept"), [
    ({"spec": {"size": "a", "colour": "red"}}, {"spec": {"size": "a"}}),
    ({"spec": {"size": "a"}, "extra": 1}, {"spec": {"size": "a"}}),
    ({"spec": {"size": "a", "free": {"x": {"y": 1}}}}, {"spec": {"size": "a",
                                                                 "free": {"x": {"y": 1}}}}),
    ({"spec": {"size": "a", "template": {"apiVersion": "v1", "kind": "Pod", "bogus": 1,
                                         "metadata": {"name": "p"}, "spec": {"x": "1", "y": 2}}}},
     {"spec": {"size": "a", "template": {"apiVersion": "v1", "kind": "Pod",
                                         "metadata": {"name": "p"}, "spec": {"x": "1"}}}}),
    ({"spec": {"size": "a", "labels": {"k": "v"}}, "status": {"ready": True, "x": 1}},
     {"spec": {"size": "a", "labels": {"k": "v"}}, "status": {"ready": True}}),
])
def test_pruning(given: Obj, kept: Obj) -> None:
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, **given}
    crschema.prune(obj, SPEC_SCHEMA)
    assert obj == {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
                   **kept}


@pytest.mark.parametrize(("spec", "defaulted_spec"), [
    ({"size": "a"}, {"size": "a", "replicas": 1, "options": {"verbose": False}}),
    ({"size": "a", "replicas": None}, {"size": "a", "replicas": 1,
                                       "options": {"verbose": False}}),
    ({"size": "a", "options": {"verbose": True}}, {"size": "a", "replicas": 1,
                                                   "options": {"verbose": True}}),
    ({"size": "a", "note": None}, {"size": "a", "note": None, "replicas": 1,
                                   "options": {"verbose": False}}),
    ({"size": "a", "name": None}, {"size": "a", "replicas": 1,
                                   "options": {"verbose": False}}),
])
def test_defaulting(spec: Obj, defaulted_spec: Obj) -> None:
    obj = widget(**spec)
    obj["spec"] = spec
    STRATEGY.default(obj)
    assert obj["spec"] == defaulted_spec


def test_defaults_are_copies() -> None:
    first, second = widget(), widget()
    STRATEGY.default(first)
    STRATEGY.default(second)
    first["spec"]["options"]["verbose"] = True
    assert second["spec"]["options"] == {"verbose": False}


# --- served versions, read conversion, scale ------------------------------------------------


def two_versions() -> Obj:
    out = defaulted(GROUP, crd())
    beta = {**V1, "name": "v1beta1", "storage": False, "subresources": {"status": {}}}
    v1 = {**V1, "subresources": {"status": {}, "scale": {
        "specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"}}}
    out["spec"]["versions"] = [beta, v1, {**V1, "name": "v2alpha1", "storage": False,
                                          "served": False}]
    return out


def test_resource_infos_preferred_first() -> None:
    infos = resource_infos(two_versions())
    assert [i.version for i in infos] == ["v1", "v1beta1"]
    assert {i.storage_prefix for i in infos} == {"/registry/example.com/widgets/"}
    v1 = infos[0]
    assert (v1.kind, v1.singular, v1.list_kind, v1.namespaced) == (
        "Widget", "widget", "WidgetList", True)
    assert [s.name for s in v1.subresources] == ["status", "scale"]
    assert v1.crd is not None and v1.crd["storageVersion"] == "v1"
    assert len(resource_infos(two_versions(), served_only=False)) == 3


def test_version_priority() -> None:
    versions = ["v1alpha1", "foo", "v1", "v2beta1", "v1beta2", "v10", "v1beta1", "v2"]
    assert sorted(versions, key=version_priority) == [
        "v10", "v2", "v1", "v2beta1", "v1beta2", "v1beta1", "v1alpha1", "foo"]


def test_served_object_rewrites_version_and_defaults() -> None:
    beta = resource_infos(two_versions())[1]
    stored = widget()
    served = served_object(beta, stored)
    assert served["apiVersion"] == "example.com/v1beta1"
    assert served["spec"]["replicas"] == 1
    assert stored == widget()
    v1 = resource_infos(two_versions())[0]
    ready = widget(replicas=1, options={"verbose": False})
    assert served_object(v1, ready) is ready


def test_scale_on_crd_paths() -> None:
    paths = {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas",
             "labelSelectorPath": ".status.selector"}
    obj = widget(replicas=2)
    obj["status"] = {"replicas": 1, "selector": "app=w"}
    scale = scale_of_custom(obj, paths)
    assert scale["spec"] == {"replicas": 2}
    assert scale["status"] == {"replicas": 1, "selector": "app=w"}
    set_custom_replicas(obj, {"specReplicasPath": ".spec.deep.count"}, 4)
    assert obj["spec"]["deep"] == {"count": 4}
