"""Results remembered by exact JSON (creates of template-made objects) equal the plain walks.

Every shortcut is checked against the function it stands for, on the same varied objects:
a seeded mix of a Deployment-made pod with fields removed, retyped, nulled or added, each
variant seen under several names so that the second and later calls answer from the table.
"""

from __future__ import annotations

import copy
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from steersman.api import fieldcheck, meta, ssa
from steersman.api.exactjson import Remembered, exact_json, json_key
from steersman.api.meta import format_time, now_rfc3339
from steersman.api.ssa.walk import compare
from steersman.api.strategies import pods
from steersman.api.strategies._base import validate_annotations, validate_labels
from steersman.api.strategies._podspec import validate_pod_spec
from steersman.apiserver.objectmeta import random_uid

Object = dict[str, Any]
POD_ROOT = ssa.builtin_root("", "v1", "Pod")
POD_SCHEMA = fieldcheck.compiled_for_kind("", "v1", "Pod")
REPLACEMENTS: list[Any] = [
    None, {}, [], "", "x", "Always", "TCP", 0, 1, -1, 1.0, 0.5, True, False, "100m", "1Gi",
    "2.5", "bad quantity", 70000, "null", {"a": 1}, [1, 2], [{"name": "a"}], "UPPER",
    "a" * 70, 2**40, {"name": "web"}]


def pod(name: str = "web-0") -> Object:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "uid": str(uuid.uuid4()),
                     "creationTimestamp": "2026-01-01T00:00:00Z",
                     "labels": {"app": "web", "pod-template-hash": "5d8f7c9b4d"},
                     "annotations": {"prometheus.io/port": "9113"},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                          "name": "web", "uid": "6f1c", "controller": True}]},
        "spec": {
            "containers": [{
                "name": "web", "image": "registry.example.com/web:1.27",
                "ports": [{"name": "http", "containerPort": 8080}],
                "env": [{"name": "POD_NAME",
                         "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                        {"name": "MODE", "value": "fast"}],
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                              "limits": {"cpu": "500m", "memory": "256Mi"}},
                "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
                "volumeMounts": [{"name": "cache", "mountPath": "/cache"}]}],
            "initContainers": [{"name": "init", "image": "busybox",
                                "resources": {"limits": {"cpu": 1, "memory": "64Mi"}}}],
            "volumes": [{"name": "cache", "emptyDir": {"sizeLimit": "1Gi"}}],
            "tolerations": [{"key": "example.com/gpu", "operator": "Exists"}],
        },
        "status": {"phase": "Pending"},
    }


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    children = value.items() if isinstance(value, dict) else enumerate(value) \
        if isinstance(value, list) else ()
    for key, child in children:
        yield from _paths(child, (*prefix, key))


def _mutated(obj: Object, rng: random.Random) -> Object:
    out = copy.deepcopy(obj)
    for _ in range(rng.choice([0, 1, 1, 2, 3])):
        path = rng.choice([p for p in _paths(out) if len(p) >= 2])
        parent = out
        for step in path[:-1]:
            parent = parent[step]
        roll = rng.random()
        if roll < 0.3 and isinstance(parent, dict):
            del parent[path[-1]]
        elif roll < 0.4 and isinstance(parent, dict):
            parent[f"extra{rng.randrange(3)}"] = copy.deepcopy(rng.choice(REPLACEMENTS))
        else:
            current = parent[path[-1]]
            same = [v for v in REPLACEMENTS if type(v) is type(current)] or REPLACEMENTS
            parent[path[-1]] = copy.deepcopy(rng.choice(same if roll < 0.75 else REPLACEMENTS))
    return out


def _single_edits(obj: Object) -> Iterator[Object]:
    """``obj`` with one field removed, and with a field added to one of its maps, each."""
    for path in _paths(obj):
        if not path:
            continue
        out = copy.deepcopy(obj)
        parent = out
        for step in path[:-1]:
            parent = parent[step]
        if isinstance(parent, dict):
            del parent[path[-1]]
            yield out
        target = copy.deepcopy(obj)
        child: Any = target
        for step in path:
            child = child[step]
        if isinstance(child, dict):
            child["extra"] = "x"
            yield target


def variants(count: int = 150, seed: int = 7) -> list[Object]:
    """Every single edit of the pod and ``count`` random variants, each under three names
    (fresh uids): the repeats, and objects that differ in one place, meet the tables."""
    rng = random.Random(seed)
    shapes = [pod(), *_single_edits(pod()), *(_mutated(pod(), rng) for _ in range(count))]
    out: list[Object] = []
    for round_ in range(3):
        for index, shape in enumerate(shapes):
            obj = copy.deepcopy(shape)
            meta = obj.get("metadata")
            if isinstance(meta, dict):
                meta.update(name=f"web-{round_}-{index}", uid=str(uuid.uuid4()))
            out.append(obj)
    return out


VARIANTS = variants()


# ---- exact JSON and the tables ---------------------------------------------------------


@pytest.mark.parametrize(("left", "right"), [
    (1, 1.0), (1, True), (0, False), ("1", 1), ({"a": 1}, {"a": 1.0}), ([1], [True])])
def test_exact_json_tells_equal_looking_values_apart(left: Any, right: Any) -> None:
    assert exact_json(left) != exact_json(right)


@pytest.mark.parametrize("value", [None, float("nan"), {"a": None}, datetime.now(UTC), 2**70,
                                   "/dev/null"])
def test_values_without_an_exact_json_are_never_remembered(value: Any) -> None:
    assert exact_json(value) is None
    assert json_key(value) is None


def test_json_keys_skip_values_too_big_to_keep() -> None:
    assert json_key({"a": "x" * 100}) is not None
    assert json_key({"a": "x" * 20_000}) is None
    assert exact_json({"a": "x" * 20_000}) is not None


def test_a_full_table_starts_over() -> None:
    table: Remembered[int, str] = Remembered(2)
    table.put(1, "a")
    table.put(2, "b")
    assert table.put(3, "c") == "c"
    assert (table.get(1), table.get(2), table.get(3)) == (None, None, "c")


# ---- the write path's shortcuts against the plain walks --------------------------------


@pytest.mark.parametrize("has_status", [True, False])
def test_create_ownership_equals_the_compared_fields(has_status: bool) -> None:
    keep = ssa.EndpointFields.for_endpoint(subresource="", has_status=has_status)
    manager = ssa.ManagerKey.of("kubectl", ssa.UPDATE, "v1")
    for obj in VARIANTS:
        expected = compare({}, obj, POD_ROOT).filtered(keep).changed()
        for _ in range(2):
            managers = ssa.update(old={}, new=obj, managers={}, manager=manager,
                                  api_version="v1", root=POD_ROOT, keep=keep, now="t")
            assert ssa.encode(managers) == ssa.encode(
                {} if expected.empty() else {manager: ssa.ManagedSet(expected, "v1", "t")})


@pytest.mark.parametrize("stripped", [None, "", 7, {}, [], {"a": {"b": 1}}, [{"a": 1}]])
def test_stripped_metadata_never_shares_ownership_it_decides(stripped: Any) -> None:
    keep = ssa.EndpointFields.for_endpoint(subresource="", has_status=True)
    manager = ssa.ManagerKey.of("kubectl", ssa.UPDATE, "v1")
    plain, odd = pod("a"), pod("b")
    odd["metadata"]["clusterName"] = stripped
    odd["metadata"]["generation"] = stripped
    for obj in (plain, odd, plain, odd):
        expected = compare({}, obj, POD_ROOT).filtered(keep).changed()
        managers = ssa.update(old={}, new=obj, managers={}, manager=manager, api_version="v1",
                              root=POD_ROOT, keep=keep, now="t")
        assert managers[manager].fields == expected


def test_create_ownership_through_another_filter_is_not_remembered() -> None:
    keep = ssa.EndpointFields.for_endpoint(subresource="", has_status=True)

    def status_too(fields: ssa.FieldSet) -> ssa.FieldSet:
        return fields.difference(ssa.FieldSet({"f:apiVersion", "f:kind", "f:metadata"}))

    manager = ssa.ManagerKey.of("kubectl", ssa.UPDATE, "v1")
    for obj in VARIANTS[:60]:
        for filter_ in (keep, status_too):
            expected = compare({}, obj, POD_ROOT).filtered(filter_).changed()
            managers = ssa.update(old={}, new=obj, managers={}, manager=manager,
                                  api_version="v1", root=POD_ROOT, keep=filter_, now="t")
            assert (managers[manager].fields if managers else ssa.FieldSet()) == expected


@pytest.mark.parametrize("types", [True, False])
def test_field_check_verdicts_equal_the_walk(types: bool) -> None:
    assert POD_SCHEMA is not None
    for obj in VARIANTS:
        expected = fieldcheck._clean(obj, POD_SCHEMA.root, types)
        assert fieldcheck.clean(obj, POD_SCHEMA, types=types) is expected
        assert fieldcheck.clean(obj, POD_SCHEMA, types=types) is expected


@pytest.mark.parametrize("name", [5, 5.5, True, ["web"], {"web": 1}])
def test_a_metadata_name_of_the_wrong_type_is_never_blanked(name: Any) -> None:
    assert POD_SCHEMA is not None
    odd = pod()
    odd["metadata"]["name"] = name
    for obj in (pod("a"), odd, pod("b"), odd):
        expected = fieldcheck._clean(obj, POD_SCHEMA.root, True)
        assert fieldcheck.clean(obj, POD_SCHEMA) is expected
    assert fieldcheck.clean(odd, POD_SCHEMA) is False


def test_defaulted_pods_equal_the_defaulters() -> None:
    for obj in VARIANTS:
        if not isinstance(obj.get("spec"), dict) or not isinstance(obj.get("status"), dict):
            continue
        expected = copy.deepcopy(obj)
        spec = expected["spec"]
        try:
            pods._default_spec(expected, spec)
        except (TypeError, AttributeError, ValueError):
            continue  # a shape the defaulters do not survive: nothing to remember
        status = expected["status"]
        pods.set_default(status, "phase", "Pending")
        pods.set_default(status, "qosClass", pods._qos_class(
            [[pods.mapping(c, "resources") for c in pods.items(spec, group)]
             for group in ("containers", "initContainers")]))
        for _ in range(2):
            got = copy.deepcopy(obj)
            pods.default_pod(got)
            assert orjson.dumps(got) == orjson.dumps(expected)


def test_remembered_validation_equals_the_validators() -> None:
    for obj in VARIANTS:
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        for remembered, value, path in (
                (validate_pod_spec, spec, "spec"),
                (validate_pod_spec, spec, "spec.template.spec"),
                (validate_labels, meta.get("labels"), "metadata.labels"),
                (validate_annotations, meta.get("annotations"), "metadata.annotations")):
            try:
                expected = remembered.__wrapped__(value, path)  # type: ignore[attr-defined]
            except (TypeError, AttributeError, ValueError):
                continue
            assert remembered(value, path) == expected
            assert remembered(value, path) == expected


def test_remembered_problems_are_fresh_lists() -> None:
    spec = {"containers": []}
    first = validate_pod_spec(spec, "spec")
    count = len(first)
    first.append(first[0])
    assert len(validate_pod_spec(spec, "spec")) == count


# ---- uids and timestamps -------------------------------------------------------------


def test_random_uids_are_version_4_uuids() -> None:
    uids = {random_uid() for _ in range(2000)}
    assert len(uids) == 2000
    for uid in uids:
        parsed = uuid.UUID(uid)
        assert (str(parsed), parsed.version, parsed.variant) == (uid, 4, uuid.RFC_4122)


@pytest.mark.parametrize("clock", [0.0, -0.5, -1e-7, 0.9999994, 0.9999996, 1.4999995,
                                   1_700_000_000.9999996, 1_700_000_000.4999999, 12.25])
def test_timestamps_of_one_second_are_formatted_once_and_alike(clock: float) -> None:
    expected = format_time(meta._from_clock(clock))
    assert now_rfc3339(clock) == expected
    assert now_rfc3339(clock) == expected
