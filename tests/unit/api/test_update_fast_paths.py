"""The update path's shortcuts equal the plain walks they stand for.

Comparisons (an added subtree taken whole, list items keyed once, unchanged parts with
``null`` in them skipped), field-set differences that hand back the set itself, remembered
key elements, defaulting and validation of bound pods whichever their node, the pod update
rule without copies, and a strategic merge patch without its copying strip — each checked
against a reference on varied objects: the Deployment-made pod of
``test_remembered_results`` edited at random, taken to Running as a node agent does.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from steersman.api import fieldcheck, ssa
from steersman.api.exactjson import same_json
from steersman.api.patch import apply_strategic_merge_patch, strategic
from steersman.api.patch.json_values import deep_copy
from steersman.api.patch.strategic import strip_directives
from steersman.api.schema import definition_for
from steersman.api.ssa.fieldpath import FieldSet, Path, _compact, key_element
from steersman.api.ssa.typeinfo import TypeNode
from steersman.api.ssa.walk import Comparison, compare, list_elements
from steersman.api.strategies import pods
from steersman.api.strategies._podspec import validate_bound_pod_spec, validate_pod_spec
from tests.unit.api.test_remembered_results import REPLACEMENTS, VARIANTS, _mutated, pod

Object = dict[str, Any]
POD_ROOT = ssa.builtin_root("", "v1", "Pod")
POD_SCHEMA = fieldcheck.compiled_for_kind("", "v1", "Pod")
_MISSING: Any = object()


# ---- the reference comparison: path by path, nothing skipped ----------------------------


def reference_compare(lhs: Any, rhs: Any, node: TypeNode) -> Comparison:
    found: dict[str, set[Path]] = {"modified": set(), "added": set(), "removed": set()}
    _reference(lhs, rhs, node, (), found)
    return Comparison(*(FieldSet.of(found[kind]) for kind in ("modified", "added", "removed")))


def _reference(lhs: Any, rhs: Any, node: TypeNode, path: Path,
               found: dict[str, set[Path]]) -> None:
    kind = node.kind_for(rhs if rhs is not _MISSING else lhs)
    sides = [v for v in (lhs, rhs) if v is not _MISSING]
    if kind == "list" and _granular(sides, list, node) and all(
            _unique_elements(node, v) for v in sides):
        left = dict(list_elements(node, lhs if lhs is not _MISSING else []))
        right = dict(list_elements(node, rhs if rhs is not _MISSING else []))
        for element in {**left, **right}:
            _reference(left.get(element, _MISSING), right.get(element, _MISSING),
                       node.items(), (*path, element), found)
    elif kind in ("struct", "map") and _granular(sides, dict, node):
        left = lhs if lhs is not _MISSING else {}
        right = rhs if rhs is not _MISSING else {}
        for name in {**left, **right}:
            _reference(left.get(name, _MISSING), right.get(name, _MISSING), node.field(name),
                       (*path, f"f:{name}"), found)
    else:
        if lhs is _MISSING:
            found["added"].add(path)
        elif rhs is _MISSING:
            found["removed"].add(path)
        elif lhs != rhs or isinstance(lhs, bool) != isinstance(rhs, bool):
            found["modified"].add(path)
        return
    if lhs is _MISSING and kind != "struct":
        found["added"].add(path)
    elif rhs is _MISSING:
        found["removed"].add(path)


def _granular(sides: list[Any], kind: type, node: TypeNode) -> bool:
    return all(isinstance(v, kind) for v in sides) and any(sides) and not node.is_atomic(
        sides[0])


def _unique_elements(node: TypeNode, items: list[Any]) -> bool:
    elements = [element for element, _ in list_elements(node, items)]
    return len(set(elements)) == len(elements)


def running(obj: Object, index: int) -> Object:
    """``obj`` as a node agent writes it once its containers run (conditions keep ``null``s)."""
    out = copy.deepcopy(obj)
    spec = out.get("spec") if isinstance(out.get("spec"), dict) else {}
    containers = spec.get("containers") if isinstance(spec.get("containers"), list) else []
    status = out.setdefault("status", {}) if isinstance(out.get("status", {}), dict) else {}
    status.update({
        "phase": "Running", "podIP": f"10.0.0.{index % 250}", "startTime": "2026-01-01T00:00:01Z",
        "hostIPs": [{"ip": "192.168.0.1"}], "podIPs": [{"ip": f"10.0.0.{index % 250}"}],
        "conditions": [{"type": kind, "status": "True", "lastProbeTime": None,
                        "lastTransitionTime": "2026-01-01T00:00:01Z"}
                       for kind in ("Initialized", "Ready", "PodScheduled")],
        "containerStatuses": [{"name": c.get("name") if isinstance(c, dict) else None,
                               "ready": True, "restartCount": 0,
                               "state": {"running": {"startedAt": "2026-01-01T00:00:01Z"}},
                               "lastState": {}} for c in containers]})
    return out


def update_pairs(seed: int = 11) -> Iterator[tuple[Any, Any]]:
    rng = random.Random(seed)
    for index, obj in enumerate(VARIANTS[::3]):
        yield obj, running(obj, index)
        yield running(obj, index), running(obj, index + 1)
        yield obj, _mutated(obj, rng)
        yield running(obj, index), _mutated(running(obj, index), rng)
        yield _mutated(running(obj, index), rng), obj


@pytest.mark.parametrize("pair", list(update_pairs()), ids=lambda _: "")
def test_update_comparisons_equal_the_path_by_path_walk(pair: tuple[Any, Any]) -> None:
    old, new = pair
    for lhs, rhs in ((old, new), (new, old)):
        got, expected = compare(lhs, rhs, POD_ROOT), reference_compare(lhs, rhs, POD_ROOT)
        assert (got.modified, got.added, got.removed) == (
            expected.modified, expected.added, expected.removed)


def test_duplicate_keys_and_retyped_leaves_are_still_compared_item_by_item() -> None:
    old = pod()
    new = copy.deepcopy(old)
    new["spec"]["containers"].append(copy.deepcopy(new["spec"]["containers"][0]))  # twice
    new["spec"]["tolerations"][0]["tolerationSeconds"] = True
    new["status"]["conditions"] = [{"type": "Ready", "status": "True", "lastProbeTime": None}]
    for lhs, rhs in ((old, new), (new, old), (new, running(new, 1))):
        got, expected = compare(lhs, rhs, POD_ROOT), reference_compare(lhs, rhs, POD_ROOT)
        assert (got.modified, got.added, got.removed) == (
            expected.modified, expected.added, expected.removed)


# ---- same JSON ---------------------------------------------------------------------------


@pytest.mark.parametrize(("left", "right", "same"), [
    ({"a": None}, {"a": None}, True), ([None, {"b": []}], [None, {"b": []}], True),
    ({"a": None}, {"a": float("nan")}, False), ({"a": 1}, {"a": 1.0}, False),
    ({"a": 1}, {"a": True}, False), ([0], [False], False), ({"a": 1, "b": 2},
                                                          {"b": 2, "a": 1}, True),
    ([1, 2], [2, 1], False),
    ({"a": 2**70}, {"a": 2**70}, False), ("x", "x", False), (None, None, False)])
def test_same_json_allows_nulls_but_no_lookalikes(left: Any, right: Any, same: bool) -> None:
    assert same_json(left, right) is same


# ---- field sets --------------------------------------------------------------------------


def _random_set(rng: random.Random) -> FieldSet:
    elements = ["f:a", "f:b", "f:c", 'k:{"name":"x"}', "i:0"]
    paths = [tuple(rng.choice(elements) for _ in range(rng.randrange(1, 4)))
             for _ in range(rng.randrange(0, 8))]
    return FieldSet.of(paths)


def _paths(fields: FieldSet) -> set[Path]:
    return set(fields.paths())


@pytest.mark.parametrize("seed", range(60))
def test_differences_equal_set_arithmetic_and_keep_unchanged_sets(seed: int) -> None:
    rng = random.Random(seed)
    left, right = _random_set(rng), _random_set(rng)
    difference = left.difference(right)
    assert _paths(difference) == _paths(left) - _paths(right)
    if not _paths(left) & _paths(right):
        assert difference is left
    recursive = left.recursive_difference(right)
    assert _paths(recursive) == {p for p in _paths(left) if not any(
        p[:len(q)] == q for q in _paths(right))}
    assert (recursive is left) == (_paths(recursive) == _paths(left))


def test_a_set_that_loses_nothing_keeps_its_encoding() -> None:
    shared = FieldSet.from_fields_v1({"f:metadata": {"f:labels": {"f:app": {}}}})
    assert shared.keeps_encoding()
    untouched = shared.difference(FieldSet.of([("f:spec", "f:nodeName")]))
    assert untouched is shared and untouched.keeps_encoding()
    assert shared.difference(FieldSet.of([("f:metadata", "f:labels", "f:app")])).empty()


@pytest.mark.parametrize("keys", [
    {"name": "web"}, {"containerPort": 8080, "protocol": "TCP"}, {"port": 1}, {"port": True},
    {"port": 1.0}, {"port": "1"}, {"b": "1", "a": 2}, {"a": 2, "b": "1"}, {"x": None},
    {"x": 2**70}, {"x": "ünï"}, {"x": {"y": 1}}])
def test_key_elements_equal_their_encoding(keys: dict[str, Any]) -> None:
    expected = "k:" + _compact({name: keys[name] for name in sorted(keys)})
    assert key_element(keys) == expected
    assert key_element(keys) == expected
    assert key_element({"port": 1}) != key_element({"port": True})


# ---- bound pods: defaulting, validation, the strict field check --------------------------


def bound(obj: Object, node: Any) -> Object:
    out = copy.deepcopy(obj)
    if isinstance(out.get("spec"), dict):
        out["spec"]["nodeName"] = node
    return out


NODES: list[Any] = ["node-1", "node-2", "Bad_Node", "", None, 7, "a" * 300, "node-1"]


def test_defaulted_bound_pods_equal_the_defaulters() -> None:
    for obj in VARIANTS[::4]:
        for node in NODES:
            original = bound(obj, node)
            if not isinstance(original.get("spec"), dict) or not isinstance(
                    original.get("status"), dict):
                continue
            expected = copy.deepcopy(original)
            spec = expected["spec"]
            try:
                pods._default_spec(expected, spec)
            except (TypeError, AttributeError, ValueError):
                continue
            pods.set_default(expected["status"], "phase", "Pending")
            pods.set_default(expected["status"], "qosClass", pods._qos_class(
                [[pods.mapping(c, "resources") for c in pods.items(spec, group)]
                 for group in ("containers", "initContainers")]))
            for _ in range(2):
                got = copy.deepcopy(original)
                pods.default_pod(got)
                assert orjson.dumps(got) == orjson.dumps(expected)


def test_defaulting_a_defaulted_spec_changes_nothing_and_keeps_key_order() -> None:
    first = bound(pod(), "node-3")
    pods.default_pod(first)
    again = copy.deepcopy(first)
    pods.default_pod(again)
    assert orjson.dumps(again) == orjson.dumps(first)
    moved = copy.deepcopy(first)
    spec = moved["spec"]
    spec["nodeName"] = spec.pop("nodeName")  # same content, another key order
    pods.default_pod(moved)
    assert list(moved["spec"]) == list(spec) and moved == first


def test_bound_pod_specs_validate_as_the_validator_does() -> None:
    for obj in VARIANTS[::4]:
        for node in NODES:
            spec = bound(obj, node).get("spec")
            if not isinstance(spec, dict):
                continue
            try:
                expected = validate_pod_spec.__wrapped__(spec, "spec")  # type: ignore[attr-defined]
            except (TypeError, AttributeError, ValueError):
                continue
            assert validate_bound_pod_spec(spec, "spec") == expected
            assert validate_bound_pod_spec(spec, "spec") == expected


@pytest.mark.parametrize("node", [5, 5.5, True, ["node"], {"node": 1}, None, "node-9"])
def test_a_node_name_of_the_wrong_type_is_never_blanked(node: Any) -> None:
    assert POD_SCHEMA is not None
    for obj in (bound(pod(), "node-1"), bound(pod(), node), bound(pod(), "node-2"),
                bound(pod(), node)):
        assert fieldcheck.clean(obj, POD_SCHEMA) is fieldcheck._clean(obj, POD_SCHEMA.root,
                                                                       True)
    assert fieldcheck.clean(bound(pod(), node), POD_SCHEMA) is (
        node is None or isinstance(node, str))


# ---- the pod update rule -----------------------------------------------------------------


def reference_with_mutable_fields(old_spec: Object, new_spec: Object) -> Object:
    allowed = copy.deepcopy(old_spec)
    for group in ("containers", "initContainers"):
        olds, news = pods.items(allowed, group), pods.items(new_spec, group)
        if len(olds) == len(news):
            for old_c, new_c in zip(olds, news, strict=True):
                if isinstance(old_c, dict) and isinstance(new_c, dict):
                    old_c["image"] = new_c.get("image")
    for key in ("activeDeadlineSeconds", "tolerations"):
        if key in new_spec:
            allowed[key] = copy.deepcopy(new_spec[key])
        else:
            allowed.pop(key, None)
    grace_new, grace_old = new_spec.get("terminationGracePeriodSeconds"), old_spec.get(
        "terminationGracePeriodSeconds")
    if isinstance(grace_old, int) and grace_old < 0 and grace_new == 1:
        allowed["terminationGracePeriodSeconds"] = 1
    return allowed


def spec_edits(rng: random.Random) -> Iterator[tuple[Object, Object]]:
    base = pod()["spec"]
    edits: list[tuple[str, Any]] = [
        ("image", "web:2"), ("activeDeadlineSeconds", 30), ("tolerations", []),
        ("terminationGracePeriodSeconds", 1), ("nodeName", "n"), ("containers", []),
        ("initContainers", [{"name": "init", "image": "busybox:2"}])]
    for _ in range(80):
        old, new = copy.deepcopy(base), copy.deepcopy(base)
        if rng.random() < 0.3:
            old["terminationGracePeriodSeconds"] = -5
        for _ in range(rng.randrange(1, 3)):
            key, value = rng.choice(edits)
            target = new["containers"][0] if key == "image" and new["containers"] else new
            if rng.random() < 0.2:
                target.pop(key, None)
            else:
                target[key] = copy.deepcopy(rng.choice([value, *REPLACEMENTS[:6]]))
        yield old, new


def test_the_update_rule_equals_the_copying_one() -> None:
    for old, new in spec_edits(random.Random(5)):
        before = copy.deepcopy(old)
        expected = reference_with_mutable_fields(old, new)
        assert (pods._with_mutable_fields(old, new) == expected) is True
        assert old == before
        assert (pods._with_mutable_fields(old, new) != new) == (expected != new)


# ---- strategic merge patch ---------------------------------------------------------------


PATCHES: list[Any] = [
    {"metadata": {"labels": {"x": "1", "app": None}}},
    {"spec": {"containers": [{"name": "web", "image": "web:2"}]}},
    {"spec": {"containers": [{"name": "side", "image": "s"}],
              "$setElementOrder/containers": [{"name": "side"}, {"name": "web"}]}},
    {"spec": {"tolerations": [{"key": "k", "operator": "Exists"}]}},
    {"spec": {"containers": [{"name": "web", "$patch": "delete"}]}},
    {"metadata": {"annotations": {"$patch": "replace", "a": "b"}}},
    {"spec": {"volumes": [{"name": "cache", "emptyDir": {}}], "$retainKeys": ["volumes"]}},
    {"status": {"conditions": [{"type": "Ready", "status": "False"}]}},
]


def _ids(value: Any, seen: list[int]) -> None:
    if isinstance(value, (dict, list)):
        seen.append(id(value))
        for child in value.values() if isinstance(value, dict) else value:
            _ids(child, seen)


@pytest.mark.parametrize("patch", PATCHES)
def test_strategic_patches_are_private_trees_without_directives(patch: Object) -> None:
    schema = definition_for("", "v1", "Pod")
    odd_key = {**pod(), "spec": {**pod()["spec"], "$odd": 1}}
    stored_directive = {**pod(), "spec": {**pod()["spec"], "$retainKeys": ["containers"]}}
    for doc in (pod(), running(pod(), 1), odd_key, stored_directive):
        result = apply_strategic_merge_patch(doc, copy.deepcopy(patch), schema)
        assert result == strip_directives(result)
        reference = strip_directives(strategic._merge_map(
            deep_copy(doc), deep_copy(patch), schema))
        assert orjson.dumps(result) == orjson.dumps(reference)
        assert "$retainKeys" not in result.get("spec", {})
        result_ids: list[int] = []
        _ids(result, result_ids)
        assert len(result_ids) == len(set(result_ids))
        doc_ids: list[int] = []
        _ids(doc, doc_ids)
        assert not set(result_ids) & set(doc_ids)


@pytest.mark.parametrize("patch", PATCHES)
def test_a_strategic_merge_into_a_handed_over_copy_equals_the_copying_one(
        patch: Object) -> None:
    schema = definition_for("", "v1", "Pod")
    for doc in (pod(), running(pod(), 1)):
        expected = apply_strategic_merge_patch(doc, copy.deepcopy(patch), schema)
        handed_over = copy.deepcopy(doc)
        got = apply_strategic_merge_patch(handed_over, copy.deepcopy(patch), schema,
                                          reuse_doc=True)
        assert orjson.dumps(got) == orjson.dumps(expected)
