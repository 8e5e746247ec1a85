"""Server-side apply: field sets, apply, conflicts, removal and update ownership (pure)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from steersman.api import ssa
from steersman.api.frozen import FrozenObjectError
from steersman.api.ssa import FieldSet, ManagerKey
from steersman.api.ssa.lastapplied import LAST_APPLIED, allowed_conflicts, build_last_applied

ROOT = ssa.builtin_root("apps", "v1", "Deployment")
KEEP = ssa.EndpointFields.for_endpoint(subresource="", has_status=True)
APPLIER = ManagerKey.of("kubectl", ssa.APPLY, "apps/v1")
OTHER = ManagerKey.of("ci", ssa.APPLY, "apps/v1")
SCALER = ManagerKey.of("kubectl", ssa.UPDATE, "apps/v1", "scale")
C = 'k:{"name":"c"}'


def deployment(replicas: int = 2, env: tuple[str, ...] = ("A", "B"),
               **extra: Any) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "c", "image": "nginx",
                                 "env": [{"name": n, "value": n.lower()} for n in env],
                                 "ports": [{"containerPort": 80}]}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [container]}}},
            **extra}


def container_fields(deployment_fields: FieldSet) -> dict[str, Any]:
    v1 = deployment_fields.to_fields_v1()
    containers: dict[str, Any] = v1["f:spec"]["f:template"]["f:spec"]["f:containers"]
    return containers


def apply(live: dict[str, Any], config: dict[str, Any], managers: ssa.Managers,
          manager: ManagerKey = APPLIER, force: bool = False) -> ssa.Applied:
    return ssa.apply(live=live, config=config, managers=managers, manager=manager,
                     api_version="apps/v1", force=force, root=ROOT, keep=KEEP, now="t")


def created(config: dict[str, Any], manager: ManagerKey = APPLIER) -> ssa.Applied:
    return apply({}, config, {}, manager)


# ---- field sets ------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "owned"), [
    (("f:spec", "f:replicas"), True),
    (("f:spec", "f:selector"), True),  # LabelSelector is an atomic map
    (("f:spec", "f:selector", "f:matchLabels"), False),
    (("f:metadata", "f:labels", "f:app"), True),
    (("f:metadata", "f:name"), False),  # stripped, as upstream
    (("f:apiVersion",), False),
    (("f:spec", "f:template", "f:spec", "f:containers", C), True),
    (("f:spec", "f:template", "f:spec", "f:containers", C, "f:image"), True),
    (("f:spec", "f:template", "f:spec", "f:containers", C, "f:env", 'k:{"name":"B"}',
      "f:value"), True),
    (("f:spec", "f:template", "f:spec", "f:containers", C, "f:ports",
      'k:{"containerPort":80,"protocol":"TCP"}', "f:containerPort"), True),
    (("f:spec", "f:template"), False),  # named fields with content are implied
])
def test_field_set_of_a_deployment(path: tuple[str, ...], owned: bool) -> None:
    assert KEEP(ssa.field_set(deployment(), ROOT)).has(path) is owned


def test_field_set_serializes_as_fields_v1() -> None:
    fields = KEEP(ssa.field_set(deployment(env=("A",)), ROOT))
    assert container_fields(fields) == {C: {
        ".": {}, "f:name": {}, "f:image": {},
        "f:env": {'k:{"name":"A"}': {".": {}, "f:name": {}, "f:value": {}}},
        "f:ports": {'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}},
    }}
    assert FieldSet.from_fields_v1(fields.to_fields_v1()) == fields


def test_set_lists_own_values_and_status_is_not_owned_through_the_main_resource() -> None:
    obj = deployment(status={"replicas": 1})
    obj["metadata"]["finalizers"] = ["x"]
    fields = KEEP(ssa.field_set(obj, ROOT))
    assert fields.has(("f:metadata", "f:finalizers", 'v:"x"'))
    assert not fields.has(("f:status", "f:replicas"))
    status_only = ssa.EndpointFields.for_endpoint(subresource="status", has_status=True)
    assert list(status_only(ssa.field_set(obj, ROOT)).paths()) == [
        ("f:metadata", "f:labels", "f:app"), ("f:status", "f:replicas")]


@pytest.mark.parametrize("text", ["[]", '{"x:y": {}}', '{"f:a": 1}', '{"k:{bad": {}}'])
def test_malformed_fields_v1_is_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        FieldSet.from_fields_v1(json.loads(text))


# ---- apply -----------------------------------------------------------------------------


def test_apply_to_nothing_creates_the_configuration_owned_by_the_applier() -> None:
    result = created(deployment())
    assert result.obj == deployment()
    assert list(result.managers) == [APPLIER]
    assert result.managers[APPLIER].fields == KEEP(ssa.field_set(deployment(), ROOT))


def test_reapplying_without_a_field_removes_it() -> None:
    first = created(deployment())
    second = apply(first.obj, deployment(env=("A",)), first.managers)
    env = second.obj["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "A", "value": "a"}]


def test_removal_keeps_fields_the_applier_never_owned() -> None:
    first = created(deployment())
    live = copy.deepcopy(first.obj)
    live["spec"]["strategy"] = {"type": "RollingUpdate"}  # defaulted by the server
    config = deployment()
    del config["spec"]["replicas"]
    result = apply(live, config, first.managers)
    assert "replicas" not in result.obj["spec"]
    assert result.obj["spec"]["strategy"] == {"type": "RollingUpdate"}


def test_identical_reapply_changes_nothing_and_keeps_the_time() -> None:
    first = created(deployment())
    stamped = {APPLIER: ssa.ManagedSet(first.managers[APPLIER].fields, "apps/v1", "old")}
    again = apply(first.obj, deployment(), stamped)
    assert not again.changed
    assert again.managers == stamped


@pytest.mark.parametrize(("replicas", "force", "conflict"), [
    (2, False, False),  # same value: co-owned, no conflict
    (3, False, True),
    (3, True, False),
])
def test_conflicts_with_another_applier(replicas: int, force: bool, conflict: bool) -> None:
    first = created(deployment())
    config = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
              "spec": {"replicas": replicas}}
    if conflict:
        with pytest.raises(ssa.ApplyConflicts) as raised:
            apply(first.obj, config, first.managers, OTHER, force)
        assert str(raised.value) == (
            'Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas')
        assert [c.field() for c in raised.value.conflicts] == [".spec.replicas"]
        return
    result = apply(first.obj, config, first.managers, OTHER, force)
    assert result.obj["spec"]["replicas"] == replicas
    shared = result.managers[APPLIER].fields.has(("f:spec", "f:replicas"))
    assert shared is (not force)
    assert result.managers[OTHER].fields.has(("f:spec", "f:replicas"))


def test_a_field_two_appliers_share_stays_when_one_stops_applying_it() -> None:
    first = created(deployment())
    other = apply(first.obj, deployment(), first.managers, OTHER)
    config = deployment()
    del config["spec"]["replicas"]
    result = apply(other.obj, config, other.managers)
    assert result.obj["spec"]["replicas"] == 2
    assert not result.managers[APPLIER].fields.has(("f:spec", "f:replicas"))


def test_several_conflicts_are_listed_per_manager() -> None:
    first = created(deployment())
    with pytest.raises(ssa.ApplyConflicts) as raised:
        apply(first.obj, deployment(replicas=4, env=("A",)) | {
            "spec": {"replicas": 4, "template": {"spec": {"containers": [
                {"name": "c", "image": "httpd"}]}}}}, first.managers, OTHER)
    assert str(raised.value).startswith('Apply failed with 2 conflicts: conflicts with "kubectl":')
    assert {c.field() for c in raised.value.conflicts} == {
        ".spec.replicas", '.spec.template.spec.containers[name="c"].image'}


# ---- update ----------------------------------------------------------------------------


def test_update_takes_ownership_of_what_it_changed() -> None:
    first = created(deployment())
    scaled = copy.deepcopy(first.obj)
    scaled["spec"]["replicas"] = 5
    managers = ssa.update(old=first.obj, new=scaled, managers=first.managers, manager=SCALER,
                          api_version="apps/v1", root=ROOT, keep=KEEP, now="t2")
    assert managers[SCALER].fields == FieldSet.of([("f:spec", "f:replicas")])
    assert not managers[APPLIER].fields.has(("f:spec", "f:replicas"))
    entry = next(e for e in ssa.encode(managers) if e["operation"] == "Update")
    assert entry == {"manager": "kubectl", "operation": "Update", "apiVersion": "apps/v1",
                     "time": "t2", "fieldsType": "FieldsV1",
                     "fieldsV1": {"f:spec": {"f:replicas": {}}}, "subresource": "scale"}
    with pytest.raises(ssa.ApplyConflicts) as raised:
        apply(scaled, deployment(replicas=3), managers)
    assert str(raised.value).endswith(
        'conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas')


def test_update_without_changes_records_nothing() -> None:
    first = created(deployment())
    managers = ssa.update(old=first.obj, new=copy.deepcopy(first.obj), managers=first.managers,
                          manager=SCALER, api_version="apps/v1", root=ROOT, keep=KEEP, now="t")
    assert managers == first.managers


def test_update_entries_beyond_ten_merge_into_ancient_changes() -> None:
    managers = {ManagerKey.of(f"m{i:02}", ssa.UPDATE, "v1"):
                ssa.ManagedSet(FieldSet.of([(f"f:f{i}",)]), "v1", f"t{i:02}") for i in range(12)}
    capped = ssa.cap_update_managers(managers)
    assert len(capped) == 10
    bucket = capped[ManagerKey.of("ancient-changes", ssa.UPDATE, "v1")]
    assert bucket.fields == FieldSet.of([("f:f0",), ("f:f1",), ("f:f2",)])


def test_managed_fields_round_trip_and_reject_duplicates() -> None:
    managers = created(deployment()).managers
    entries = ssa.encode(managers)
    assert ssa.decode(entries) == managers
    with pytest.raises(ssa.InvalidManagedFields):
        ssa.decode(entries + entries)


@pytest.mark.parametrize("extra", [
    {},
    {"status": {"conditions": [{"type": "A"}, {"type": "A"}]}},  # duplicate keys: atomic
    {"spec": {"replicas": 1, "paused": None, "selector": {}, "template": {"spec": {
        "containers": [], "tolerations": [{"key": "k"}]}}}},
])
def test_a_create_records_every_field_it_sets(extra: dict[str, Any]) -> None:
    obj = deployment(**extra)
    # A create compares with nothing; the general walk, from an object holding only the
    # apiVersion, must find the same fields except that one.
    general = ssa.compare({"apiVersion": obj["apiVersion"]}, obj, ROOT).added
    for _ in range(2):  # the second time, from what the first one remembered
        created_fields = ssa.compare({}, obj, ROOT)
        assert created_fields.added == general.union(FieldSet({"f:apiVersion"}))
        assert created_fields.modified.empty() and created_fields.removed.empty()


@pytest.mark.parametrize(("replicas", "modified"), [(True, True), (1.0, False)])
def test_an_update_sees_values_python_calls_equal(replicas: Any, modified: bool) -> None:
    before = deployment(replicas=1)
    after = copy.deepcopy(before)
    after["spec"]["replicas"] = replicas
    assert before == after  # 1 == 1.0 == True, yet true is no number (1.0 is the number 1)
    changed = ssa.compare(before, after, ROOT)
    assert changed.modified.has(("f:spec", "f:replicas")) is modified


def test_decoded_fields_are_one_shared_read_only_document() -> None:
    entries = ssa.encode(created(deployment()).managers)
    first = ssa.decode(copy.deepcopy(entries))[APPLIER].fields.to_fields_v1()
    with pytest.raises(FrozenObjectError):  # frozen under the test suite
        first["f:spec"].clear()
    again = ssa.decode(copy.deepcopy(entries))[APPLIER].fields.to_fields_v1()
    assert again is first and again == entries[0]["fieldsV1"]
    mine = copy.deepcopy(again)
    mine["f:spec"].clear()  # a copy is plain
    assert again == entries[0]["fieldsV1"]


# ---- migration from client-side apply --------------------------------------------------


def test_last_applied_fields_that_still_match_may_be_taken_over() -> None:
    live = deployment()
    live["metadata"]["annotations"] = {LAST_APPLIED: build_last_applied(deployment())}
    allowed = allowed_conflicts(live, ROOT)
    assert allowed.has(("f:spec", "f:replicas"))
    live["spec"]["replicas"] = 7
    assert not allowed_conflicts(live, ROOT).has(("f:spec", "f:replicas"))
    assert build_last_applied({"a": "<b>"}) == '{"a":"\\u003cb\\u003e"}\n'


# ---- custom resources ------------------------------------------------------------------

CRD_SCHEMA = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
    "items": {"type": "array", "x-kubernetes-list-type": "map",
              "x-kubernetes-list-map-keys": ["id"],
              "items": {"type": "object", "properties": {"id": {"type": "string"},
                                                         "size": {"type": "integer"}}}},
    "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}}}


@pytest.mark.parametrize(("schema", "path", "owned"), [
    (CRD_SCHEMA, ("f:spec", "f:items", 'k:{"id":"a"}', "f:size"), True),
    (CRD_SCHEMA, ("f:spec", "f:free", "f:tags"), True),  # untyped lists are atomic
    (CRD_SCHEMA, ("f:spec", "f:free", "f:tags", "i:0"), False),
    (None, ("f:spec", "f:items"), True),
    (None, ("f:spec", "f:free", "f:nested", "f:deep"), True),  # untyped maps are granular
])
def test_custom_resource_field_sets_follow_the_crd_schema(
        schema: dict[str, Any] | None, path: tuple[str, ...], owned: bool) -> None:
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
           "spec": {"items": [{"id": "a", "size": 1}],
                    "free": {"tags": ["x"], "nested": {"deep": 1}}}}
    assert ssa.field_set(obj, ssa.root(schema)).has(path) is owned
