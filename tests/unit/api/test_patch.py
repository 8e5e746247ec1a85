"""The three patch types: RFC 6902 and RFC 7386 appendices, kube-apiserver's SMP behaviour."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steersman.api.patch import (
    MalformedPatch,
    PatchError,
    PatchTestFailed,
    apply_json_patch,
    apply_merge_patch,
    apply_strategic_merge_patch,
)
from steersman.api.patch.json_values import json_equal
from steersman.api.patch.merge_patch import merge_patch_value
from steersman.api.schema import definition_for

DEPLOYMENT = definition_for("apps", "v1", "Deployment")
POD = definition_for("", "v1", "Pod")
SERVICE = definition_for("", "v1", "Service")


def _same(actual: Any, expected: Any) -> None:
    assert json_equal(actual, expected), f"{actual!r} != {expected!r}"


# --- RFC 6902 (JSON patch) ------------------------------------------------------------

# (name, document, patch, expected result or the PatchError subclass raised)
RFC6902_APPENDIX = [
    ("A.1 add object member", {"foo": "bar"},
     [{"op": "add", "path": "/baz", "value": "qux"}], {"baz": "qux", "foo": "bar"}),
    ("A.2 add array element", {"foo": ["bar", "baz"]},
     [{"op": "add", "path": "/foo/1", "value": "qux"}], {"foo": ["bar", "qux", "baz"]}),
    ("A.3 remove object member", {"baz": "qux", "foo": "bar"},
     [{"op": "remove", "path": "/baz"}], {"foo": "bar"}),
    ("A.4 remove array element", {"foo": ["bar", "qux", "baz"]},
     [{"op": "remove", "path": "/foo/1"}], {"foo": ["bar", "baz"]}),
    ("A.5 replace a value", {"baz": "qux", "foo": "bar"},
     [{"op": "replace", "path": "/baz", "value": "boo"}], {"baz": "boo", "foo": "bar"}),
    ("A.6 move a value", {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
     [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
     {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}}),
    ("A.7 move an array element", {"foo": ["all", "grass", "cows", "eat"]},
     [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
     {"foo": ["all", "cows", "eat", "grass"]}),
    ("A.8 test success", {"baz": "qux", "foo": ["a", 2, "c"]},
     [{"op": "test", "path": "/baz", "value": "qux"}, {"op": "test", "path": "/foo/1", "value": 2}],
     {"baz": "qux", "foo": ["a", 2, "c"]}),
    ("A.9 test error", {"baz": "qux"},
     [{"op": "test", "path": "/baz", "value": "bar"}], PatchTestFailed),
    ("A.10 add nested member object", {"foo": "bar"},
     [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
     {"foo": "bar", "child": {"grandchild": {}}}),
    ("A.11 ignore unrecognized elements", {"foo": "bar"},
     [{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}], {"foo": "bar", "baz": "qux"}),
    ("A.12 add to a nonexistent target", {"foo": "bar"},
     [{"op": "add", "path": "/baz/bat", "value": "qux"}], PatchTestFailed),
    ("A.14 ~ escape ordering", {"/": 9, "~1": 10},
     [{"op": "test", "path": "/~01", "value": 10}], {"/": 9, "~1": 10}),
    ("A.15 strings and numbers differ", {"/": 9, "~1": 10},
     [{"op": "test", "path": "/~01", "value": "10"}], PatchTestFailed),
    ("A.16 add an array value", {"foo": ["bar"]},
     [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}], {"foo": ["bar", ["abc", "def"]]}),
]

JSON_PATCH_CASES = [
    ("test 1 equals 1.0", {"a": 1}, [{"op": "test", "path": "/a", "value": 1.0}], {"a": 1}),
    ("test true is not 1", {"a": True}, [{"op": "test", "path": "/a", "value": 1}],
     PatchTestFailed),
    ("test deep object, key order free", {"a": {"x": [1, {"y": None}], "z": "s"}},
     [{"op": "test", "path": "/a", "value": {"z": "s", "x": [1, {"y": None}]}}],
     {"a": {"x": [1, {"y": None}], "z": "s"}}),
    ("test missing path", {}, [{"op": "test", "path": "/a", "value": None}], PatchTestFailed),
    ("kopf resourceVersion guard", {"metadata": {"resourceVersion": "7"}, "spec": {}},
     [{"op": "test", "path": "/metadata/resourceVersion", "value": "6"},
      {"op": "replace", "path": "/spec", "value": {"x": 1}}], PatchTestFailed),
    ("add replaces an existing member", {"a": 1}, [{"op": "add", "path": "/a", "value": 2}],
     {"a": 2}),
    ("add at the end index", {"a": [1]}, [{"op": "add", "path": "/a/1", "value": 2}],
     {"a": [1, 2]}),
    ("add past the end", {"a": [1]}, [{"op": "add", "path": "/a/2", "value": 2}],
     PatchTestFailed),
    ("add with a leading-zero index", {"a": [1, 2]},
     [{"op": "add", "path": "/a/01", "value": 0}], MalformedPatch),
    ("add with a negative index", {"a": [1, 2]},
     [{"op": "add", "path": "/a/-1", "value": 0}], MalformedPatch),
    ("add under a scalar", {"a": 1}, [{"op": "add", "path": "/a/b", "value": 0}],
     PatchTestFailed),
    ("add replaces the whole document", {"a": 1}, [{"op": "add", "path": "", "value": {"b": 2}}],
     {"b": 2}),
    ("remove missing member", {"a": 1}, [{"op": "remove", "path": "/b"}], PatchTestFailed),
    ("remove past the end", {"a": [1]}, [{"op": "remove", "path": "/a/1"}], PatchTestFailed),
    ("remove '-'", {"a": [1]}, [{"op": "remove", "path": "/a/-"}], PatchTestFailed),
    ("replace missing member", {"a": 1}, [{"op": "replace", "path": "/b", "value": 2}],
     PatchTestFailed),
    ("replace an array element", {"a": [1, 2]},
     [{"op": "replace", "path": "/a/0", "value": 9}], {"a": [9, 2]}),
    ("replace the root with a scalar", {"a": 1}, [{"op": "replace", "path": "", "value": 3}],
     MalformedPatch),
    ("move to itself", {"a": 1}, [{"op": "move", "from": "/a", "path": "/a"}], {"a": 1}),
    ("move into own child", {"a": {"b": 1}},
     [{"op": "move", "from": "/a", "path": "/a/b/c"}], MalformedPatch),
    ("move missing from", {"a": 1}, [{"op": "move", "from": "/x", "path": "/y"}],
     PatchTestFailed),
    ("copy", {"a": {"b": [1]}}, [{"op": "copy", "from": "/a", "path": "/c"}],
     {"a": {"b": [1]}, "c": {"b": [1]}}),
    ("escaped member names", {"a/b": {"m~n": 1}},
     [{"op": "replace", "path": "/a~1b/m~0n", "value": 2}], {"a/b": {"m~n": 2}}),
    ("unknown op", {}, [{"op": "frobnicate", "path": "/a"}], MalformedPatch),
    ("missing op", {}, [{"path": "/a", "value": 1}], MalformedPatch),
    ("missing path", {}, [{"op": "add", "value": 1}], MalformedPatch),
    ("missing value", {}, [{"op": "add", "path": "/a"}], MalformedPatch),
    ("missing from", {"a": 1}, [{"op": "copy", "path": "/b"}], MalformedPatch),
    ("path is not a string", {}, [{"op": "add", "path": 3, "value": 1}], MalformedPatch),
    ("pointer without leading slash", {"a": 1}, [{"op": "remove", "path": "a"}], MalformedPatch),
    ("pointer with a bad escape", {"a": 1}, [{"op": "remove", "path": "/a~2"}], MalformedPatch),
    ("operation is not an object", {}, ["add"], MalformedPatch),
    ("patch is not a list", {}, {"op": "add", "path": "/a", "value": 1}, MalformedPatch),
    ("a bad op later aborts before anything applies", {"a": 1},
     [{"op": "remove", "path": "/a"}, {"op": "nope", "path": "/a"}], MalformedPatch),
]


@pytest.mark.parametrize(
    ("doc", "ops", "expected"),
    [pytest.param(d, o, e, id=n) for n, d, o, e in RFC6902_APPENDIX + JSON_PATCH_CASES],
)
def test_json_patch(doc: dict[str, Any], ops: Any, expected: Any) -> None:
    before = copy.deepcopy((doc, ops))
    if isinstance(expected, type):
        with pytest.raises(expected):
            apply_json_patch(doc, ops)
    else:
        _same(apply_json_patch(doc, ops), expected)
    assert (doc, ops) == before


def test_json_patch_result_shares_nothing_with_inputs() -> None:
    doc: dict[str, Any] = {"a": {"b": [1]}}
    value: dict[str, Any] = {"c": [2]}
    result = apply_json_patch(doc, [{"op": "add", "path": "/v", "value": value}])
    result["a"]["b"].append(9)
    result["v"]["c"].append(9)
    assert doc == {"a": {"b": [1]}} and value == {"c": [2]}


def test_patch_errors_form_one_hierarchy() -> None:
    assert issubclass(MalformedPatch, PatchError) and issubclass(PatchTestFailed, PatchError)


# --- RFC 7386 (JSON merge patch) ------------------------------------------------------

RFC7386_APPENDIX = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "expected"), RFC7386_APPENDIX)
def test_merge_patch_rfc7386_appendix(target: Any, patch: Any, expected: Any) -> None:
    before = copy.deepcopy((target, patch))
    _same(merge_patch_value(target, patch), expected)
    assert (target, patch) == before


@pytest.mark.parametrize("patch", [None, ["a"], "x", 3])
def test_merge_patch_body_must_be_an_object(patch: Any) -> None:
    with pytest.raises(MalformedPatch):
        apply_merge_patch({"a": 1}, patch)


def test_merge_patch_kubectl_label() -> None:
    doc = {"metadata": {"name": "x", "labels": {"a": "1", "b": "2"}}, "spec": {"ports": [1, 2]}}
    patch = {"metadata": {"labels": {"a": None, "c": "3"}}, "spec": {"ports": [3]}}
    _same(apply_merge_patch(doc, patch),
          {"metadata": {"name": "x", "labels": {"b": "2", "c": "3"}}, "spec": {"ports": [3]}})
    assert doc["metadata"]["labels"] == {"a": "1", "b": "2"}


# --- strategic merge patch ------------------------------------------------------------


def _deployment(containers: list[Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "annotations": {"last": "old"}},
        "spec": {**spec, "template": {"spec": {"containers": containers}}},
    }


def _pod(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


def _names(*names: str) -> list[dict[str, str]]:
    return [{"name": n} for n in names]


NGINX = {"name": "nginx", "image": "nginx:1.27",
         "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}
SIDECAR = {"name": "sidecar", "image": "busybox"}

# (name, schema, live object, patch, expected result)
SMP_CASES: list[tuple[str, Any, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    ("kubectl apply: image and env changed, $setElementOrder", DEPLOYMENT,
     _deployment([NGINX, SIDECAR], replicas=2),
     {"metadata": {"annotations": {"last": "new"}},
      "spec": {"template": {"spec": {
          "$setElementOrder/containers": _names("nginx", "sidecar"),
          "containers": [{"$setElementOrder/env": _names("A", "B"),
                          "env": [{"name": "B", "value": "3"}],
                          "image": "nginx:1.28", "name": "nginx"}]}}}},
     {**_deployment([{**NGINX, "image": "nginx:1.28",
                      "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}]},
                     SIDECAR], replicas=2),
      "metadata": {"name": "web", "annotations": {"last": "new"}}}),
    ("kubectl apply: env and container deleted, replicas", DEPLOYMENT,
     _deployment([NGINX, SIDECAR], replicas=2),
     {"spec": {"replicas": 3, "template": {"spec": {
         "$setElementOrder/containers": _names("nginx"),
         "containers": [{"$setElementOrder/env": _names("A"),
                         "env": [{"$patch": "delete", "name": "B"}], "name": "nginx"},
                        {"$patch": "delete", "name": "sidecar"}]}}}},
     _deployment([{**NGINX, "env": [{"name": "A", "value": "1"}]}], replicas=3)),
    ("containers merge by name, others kept", DEPLOYMENT,
     _deployment([NGINX, SIDECAR]),
     {"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "alpine"}]}}}},
     _deployment([NGINX, {"name": "sidecar", "image": "alpine"}])),
    ("env merges by name deep in the template", DEPLOYMENT,
     _deployment([NGINX]),
     {"spec": {"template": {"spec": {"containers": [
         {"name": "nginx", "env": [{"name": "A", "value": "9"}]}]}}}},
     _deployment([{**NGINX, "env": [{"name": "A", "value": "9"}, {"name": "B", "value": "2"}]}])),
    ("service ports merge by port (Python e2e test_service_apis)", SERVICE,
     {"spec": {"ports": [{"name": "port", "port": 80, "protocol": "TCP", "targetPort": 80}]}},
     {"spec": {"ports": [{"name": "new", "port": 8080, "protocol": "TCP", "targetPort": 8080}]}},
     # Upstream's mergeSortedSlice puts an element new to the list before server-only ones.
     {"spec": {"ports": [{"name": "new", "port": 8080, "protocol": "TCP", "targetPort": 8080},
                         {"name": "port", "port": 80, "protocol": "TCP", "targetPort": 80}]}}),
    ("container ports merge by containerPort", POD,
     _pod(containers=[{"name": "c", "ports": [{"containerPort": 80, "name": "http"}]}]),
     {"spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80, "name": "web"}]}]}},
     _pod(containers=[{"name": "c", "ports": [{"containerPort": 80, "name": "web"}]}])),
    ("tolerations are replaced", POD,
     _pod(tolerations=[{"key": "a", "operator": "Exists"}, {"key": "b", "operator": "Exists"}]),
     {"spec": {"tolerations": [{"key": "c", "operator": "Exists"}]}},
     _pod(tolerations=[{"key": "c", "operator": "Exists"}])),
    ("container args are replaced", POD,
     _pod(containers=[{"name": "c", "args": ["a", "b"]}]),
     {"spec": {"containers": [{"name": "c", "args": ["z"]}]}},
     _pod(containers=[{"name": "c", "args": ["z"]}])),
    ("finalizers: ordered union", POD,
     {"metadata": {"finalizers": ["a", "b"]}},
     {"metadata": {"finalizers": ["b", "c"]}},
     {"metadata": {"finalizers": ["a", "b", "c"]}}),
    ("finalizers: $deleteFromPrimitiveList", POD,
     {"metadata": {"finalizers": ["a", "b", "c"]}},
     {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b", "x"]}},
     {"metadata": {"finalizers": ["a", "c"]}}),
    ("$deleteFromPrimitiveList on a missing list adds nothing", POD,
     {"metadata": {"name": "p"}},
     {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}},
     {"metadata": {"name": "p"}}),
    ("ownerReferences merge by uid", POD,
     {"metadata": {"ownerReferences": [{"uid": "1", "name": "a", "kind": "ReplicaSet"}]}},
     {"metadata": {"ownerReferences": [{"uid": "1", "controller": True},
                                       {"uid": "2", "name": "b", "kind": "Job"}]}},
     {"metadata": {"ownerReferences": [
         {"uid": "1", "name": "a", "kind": "ReplicaSet", "controller": True},
         {"uid": "2", "name": "b", "kind": "Job"}]}}),
    ("labels merge per key, null deletes", POD,
     {"metadata": {"labels": {"a": "1", "b": "2"}}},
     {"metadata": {"labels": {"a": None, "c": "3"}}},
     {"metadata": {"labels": {"b": "2", "c": "3"}}}),
    ("retainKeys: RollingUpdate -> Recreate", DEPLOYMENT,
     _deployment([], strategy={"type": "RollingUpdate",
                               "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}),
     {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}},
     _deployment([], strategy={"type": "Recreate"})),
    ("retainKeys in a merge,retainKeys list element (volumes)", POD,
     _pod(volumes=[{"name": "v", "emptyDir": {}}, {"name": "w", "emptyDir": {}}]),
     {"spec": {"volumes": [{"$retainKeys": ["configMap", "name"], "name": "v",
                            "configMap": {"name": "cm"}}]}},
     _pod(volumes=[{"name": "v", "configMap": {"name": "cm"}}, {"name": "w", "emptyDir": {}}])),
    ("$patch: replace in a list replaces it", DEPLOYMENT,
     _deployment([NGINX, SIDECAR]),
     {"spec": {"template": {"spec": {"containers": [
         {"$patch": "replace"}, {"name": "only", "image": "x"}]}}}},
     _deployment([{"name": "only", "image": "x"}])),
    ("$patch: replace on a map", DEPLOYMENT,
     _deployment([], selector={"matchLabels": {"a": "1"}, "matchExpressions": []}),
     {"spec": {"selector": {"$patch": "replace", "matchLabels": {"b": "2"}}}},
     _deployment([], selector={"matchLabels": {"b": "2"}})),
    ("$patch: delete on a map empties it", POD,
     {"metadata": {"labels": {"a": "1"}, "name": "p"}},
     {"metadata": {"labels": {"$patch": "delete"}}},
     {"metadata": {"labels": {}, "name": "p"}}),
    ("a new map with $patch: delete is not added", POD,
     {"metadata": {"name": "p"}},
     {"metadata": {"labels": {"$patch": "delete"}}},
     {"metadata": {"name": "p"}}),
    ("delete of an absent element is a no-op", POD,
     _pod(containers=_names("a")),
     {"spec": {"containers": [{"$patch": "delete", "name": "zz"}]}},
     _pod(containers=_names("a"))),
    ("nulls in added values are dropped", POD,
     _pod(containers=_names("a")),
     {"spec": {"containers": [{"name": "b", "image": "i", "command": None}],
               "nodeSelector": {"x": "1", "y": None}}},
     _pod(containers=[{"name": "b", "image": "i"}, {"name": "a"}], nodeSelector={"x": "1"})),
    ("an empty patch list leaves a merge list alone", POD,
     _pod(containers=_names("a", "b")), {"spec": {"containers": []}},
     _pod(containers=_names("a", "b"))),
    ("null deletes a merge list", POD,
     _pod(containers=_names("a"), hostname="h"), {"spec": {"containers": None}},
     _pod(hostname="h")),
    ("directives inside new content are stripped", POD,
     _pod(),
     {"spec": {"containers": [{"name": "c", "$setElementOrder/env": _names("A"),
                               "env": [{"name": "A", "value": "1"}]}]}},
     _pod(containers=[{"name": "c", "env": [{"name": "A", "value": "1"}]}])),
    ("set element order: add items in place (upstream case)", POD,
     _pod(containers=[{"name": "1", "image": "a"}, {"name": "2", "image": "b"}]),
     {"spec": {"$setElementOrder/containers": _names("1", "4", "2", "3"),
               "containers": [{"name": "4", "image": "d"}, {"name": "3", "image": "c"}]}},
     _pod(containers=[{"name": "1", "image": "a"}, {"name": "4", "image": "d"},
                      {"name": "2", "image": "b"}, {"name": "3", "image": "c"}])),
    ("set element order: server-only items keep their place (upstream case 3)", POD,
     _pod(containers=_names("1", "2", "7", "9", "8", "3", "4")),
     {"spec": {"$setElementOrder/containers": _names("2", "1", "4", "3")}},
     _pod(containers=_names("2", "1", "7", "9", "8", "4", "3"))),
    ("set element order after a delete and an add (upstream case)", POD,
     _pod(containers=[{"name": "1"}, {"name": "2", "image": "b"}, {"name": "4", "image": "c"}]),
     {"spec": {"$setElementOrder/containers": _names("2", "3"),
               "containers": [{"name": "3"}, {"$patch": "delete", "name": "1"}]}},
     _pod(containers=[{"name": "2", "image": "b"}, {"name": "4", "image": "c"}, {"name": "3"}])),
    ("set element order of a primitive list", POD,
     {"metadata": {"finalizers": ["a", "b", "c"]}},
     {"metadata": {"$setElementOrder/finalizers": ["c", "a", "b"]}},
     {"metadata": {"finalizers": ["c", "a", "b"]}}),
    ("no schema: lists replaced, directives stripped", None,
     {"spec": {"items": [{"name": "a"}], "keep": 1}},
     {"spec": {"items": [{"name": "b"}], "$setElementOrder/items": _names("b")}},
     {"spec": {"items": [{"name": "b"}], "keep": 1}}),
    ("no schema: $patch directives still apply", None,
     {"spec": {"a": {"x": 1}, "b": {"y": 2}}},
     {"spec": {"a": {"$patch": "replace", "z": 3}, "b": {"$patch": "delete"}}},
     {"spec": {"a": {"z": 3}, "b": {}}}),
]


@pytest.mark.parametrize(
    ("schema", "doc", "patch", "expected"), [pytest.param(*c[1:], id=c[0]) for c in SMP_CASES]
)
def test_strategic_merge_patch(
    schema: Any, doc: dict[str, Any], patch: dict[str, Any], expected: dict[str, Any]
) -> None:
    before = copy.deepcopy((doc, patch))
    _same(apply_strategic_merge_patch(doc, patch, schema), expected)
    assert (doc, patch) == before


SMP_ERRORS = [
    ("patch is not an object", {}, ["x"]),
    ("merge list element without its merge key", _pod(containers=_names("a")),
     {"spec": {"containers": [{"image": "x"}]}}),
    ("live element without the merge key", _pod(containers=[{"image": "x"}]),
     {"spec": {"containers": [{"name": "a"}]}}),
    ("unknown $patch on a map", {"metadata": {"labels": {}}},
     {"metadata": {"labels": {"$patch": "frob"}}}),
    ("$patch: merge in a list", _pod(containers=_names("a")),
     {"spec": {"containers": [{"$patch": "merge"}]}}),
    ("$patch: delete without the merge key", _pod(containers=_names("a")),
     {"spec": {"containers": [{"$patch": "delete"}]}}),
    ("$retainKeys that omits a patched key", _deployment([], strategy={"type": "Recreate"}),
     {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}}),
    ("$retainKeys that is not a list", _deployment([], strategy={"type": "Recreate"}),
     {"spec": {"strategy": {"$retainKeys": "type"}}}),
    ("$setElementOrder that does not match the patch list", _pod(containers=_names("a", "b")),
     {"spec": {"$setElementOrder/containers": _names("a"),
               "containers": [{"name": "b", "image": "x"}]}}),
    ("$setElementOrder that is not a list", _pod(containers=_names("a")),
     {"spec": {"$setElementOrder/containers": {"name": "a"}}}),
    ("$deleteFromPrimitiveList without a field", {"metadata": {"finalizers": ["a"]}},
     {"metadata": {"$deleteFromPrimitiveList": ["a"]}}),
    ("mixed element types in a merge list", {"metadata": {"finalizers": ["a"]}},
     {"metadata": {"finalizers": [1]}}),
    ("list of lists in a merge list", {"metadata": {"finalizers": ["a"]}},
     {"metadata": {"finalizers": [["b"]]}}),
]


@pytest.mark.parametrize(("doc", "patch"), [pytest.param(*c[1:], id=c[0]) for c in SMP_ERRORS])
def test_strategic_merge_patch_errors(doc: dict[str, Any], patch: Any) -> None:
    schema = POD if "strategy" not in doc.get("spec", {}) else DEPLOYMENT
    with pytest.raises(MalformedPatch):
        apply_strategic_merge_patch(doc, patch, schema)


def test_schema_has_the_metadata_merge_annotations() -> None:
    """No override table: ObjectMeta's JSON schema carries the upstream struct tags."""
    assert POD is not None
    meta = apply_strategic_merge_patch(
        {"metadata": {"finalizers": ["a"], "ownerReferences": [{"uid": "1", "name": "x"}]}},
        {"metadata": {"finalizers": ["b"], "ownerReferences": [{"uid": "2", "name": "y"}]}},
        POD,
    )["metadata"]
    assert sorted(meta["finalizers"]) == ["a", "b"]
    assert sorted(r["uid"] for r in meta["ownerReferences"]) == ["1", "2"]


# --- properties -----------------------------------------------------------------------

_KEYS = st.sampled_from(["a", "b", "c", "d"])
_SCALARS = st.booleans() | st.integers(-3, 3) | st.text("xy", max_size=2)


def _json(leaves: st.SearchStrategy[Any], *, null_in_lists: bool = True) -> st.SearchStrategy[Any]:
    def grow(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        in_lists = children if null_in_lists else _json(_SCALARS)
        return st.lists(in_lists, max_size=3) | st.dictionaries(_KEYS, children, max_size=3)

    return st.recursive(leaves, grow, max_leaves=8)


_VALUES = _json(st.none() | _SCALARS)
_OBJECTS = st.dictionaries(_KEYS, _VALUES, max_size=4)
_NULL_FREE_OBJECTS = st.dictionaries(_KEYS, _json(_SCALARS), max_size=4)
# Patches whose nulls only sit in objects: there SMP and merge patch agree on every value.
_PLAIN_PATCHES = st.dictionaries(
    _KEYS, _json(st.none() | _SCALARS, null_in_lists=False), max_size=4
)


def _merge_diff(old: Any, new: Any) -> Any:
    """The merge patch that turns ``old`` into ``new`` (what kubectl's 2-way diff sends)."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return new
    patch: dict[str, Any] = {key: None for key in old if key not in new}
    for key, value in new.items():
        if key not in old or not json_equal(old[key], value):
            patch[key] = _merge_diff(old.get(key), value)
    return patch


@settings(max_examples=300, deadline=None)
@given(doc=_OBJECTS, patch=_OBJECTS)
def test_merge_patch_is_idempotent(doc: dict[str, Any], patch: dict[str, Any]) -> None:
    once = apply_merge_patch(doc, patch)
    _same(apply_merge_patch(once, patch), once)


@settings(max_examples=300, deadline=None)
@given(old=_OBJECTS, new=_NULL_FREE_OBJECTS)
def test_merge_patch_of_a_diff_reaches_the_target(old: dict[str, Any], new: dict[str, Any]) -> None:
    patch = _merge_diff(old, new)
    _same(apply_merge_patch(old, patch), new)
    _same(apply_merge_patch(new, patch), new)


@settings(max_examples=300, deadline=None)
@given(doc=_OBJECTS, patch=_PLAIN_PATCHES)
def test_strategic_merge_patch_without_schema_is_merge_patch(
    doc: dict[str, Any], patch: dict[str, Any]
) -> None:
    _same(apply_strategic_merge_patch(doc, patch, None), apply_merge_patch(doc, patch))
