"""Writes that carry parts of the live object over by reference cost less, and record the same.

A ``/status`` write keeps the live pod's spec by reference, a Lease renewal hands back the
managedFields documents it was read with: comparisons skip what is the very same value,
a manager re-writing fields it owns keeps its set, and a handed-out ``fieldsV1`` document
decodes to its set without being read. Each shortcut is checked against the copying path:
the same objects with nothing shared. Heartbeats of many nodes share one strict field check
verdict, their strings blanked in its key.
"""

from __future__ import annotations

import copy
import random
from typing import Any

import orjson
import pytest

from steersman.api import fieldcheck
from steersman.api.builtin import builtin_registry
from steersman.api.exactjson import same_json
from steersman.api.ssa import fieldpath
from steersman.api.ssa.fieldpath import FieldSet
from steersman.api.ssa.walk import compare
from steersman.apiserver.fieldmanager import UpdateTracker
from tests.unit.api.test_remembered_results import VARIANTS, pod
from tests.unit.api.test_update_fast_paths import (
    POD_ROOT,
    _paths,
    _random_set,
    reference_compare,
    running,
)

Object = dict[str, Any]
RESOURCES = builtin_registry()
PODS = RESOURCES.get("", "v1", "pods")
LEASES = RESOURCES.get("coordination.k8s.io", "v1", "leases")


@pytest.mark.parametrize("value", [{}, [], {"a": [1, {"b": None}]}, [float("nan")],
                                   {"big": 2**70}])
def test_a_container_is_the_same_json_as_itself(value: Any) -> None:
    assert same_json(value, value)


@pytest.mark.parametrize("value", ["x", 1, None, 1.5, True])
def test_a_scalar_is_never_compared_whole(value: Any) -> None:
    assert not same_json(value, value)


def _with_shared_spec(old: Object, index: int) -> Object:
    """``old`` taken to Running, its spec (and every other part but status) the live one's."""
    new = running(old, index)
    for key, value in old.items():
        if key != "status":
            new[key] = value
    return new


@pytest.mark.parametrize("index", range(0, len(VARIANTS), 3))
def test_comparisons_of_shared_parts_equal_those_of_copies(index: int) -> None:
    old = VARIANTS[index]
    new = _with_shared_spec(old, index)
    copied = copy.deepcopy(new)
    for lhs, rhs in ((old, new), (new, old), (old, copied)):
        got, expected = compare(lhs, rhs, POD_ROOT), reference_compare(lhs, rhs, POD_ROOT)
        assert (got.modified, got.added, got.removed) == (
            expected.modified, expected.added, expected.removed)


def _created(info: Any, obj: Object, manager: str) -> Object:
    UpdateTracker(info, manager=manager, subresource="", now="2026-01-01T00:00:00Z")(obj, None)
    return obj


@pytest.mark.parametrize("index", range(0, 12))
def test_status_writes_record_the_same_fields_with_the_spec_shared_or_copied(
        index: int) -> None:
    old = _created(PODS, pod(f"web-{index}"), "kube-controller-manager")
    shared = _with_shared_spec(old, index)
    shared["metadata"] = dict(old["metadata"])
    copied = copy.deepcopy(shared)
    track = UpdateTracker(PODS, manager="hollow-node", subresource="status",
                          now="2026-01-01T00:00:05Z")
    track(shared, old)
    track(copied, copy.deepcopy(old))
    assert shared["spec"] is old["spec"]
    assert orjson.dumps(shared) == orjson.dumps(copied)
    managers = [entry["manager"] for entry in shared["metadata"]["managedFields"]]
    assert managers == ["kube-controller-manager", "hollow-node"]


@pytest.mark.parametrize("seed", range(60))
def test_a_union_that_adds_nothing_is_the_set_itself(seed: int) -> None:
    rng = random.Random(seed)
    left, right = _random_set(rng), _random_set(rng)
    for other in (right, FieldSet.of(rng.sample(sorted(_paths(left)),
                                                k=len(_paths(left)) // 2))):
        union = left.union(other)
        assert _paths(union) == _paths(left) | _paths(other)
        assert (union is left) == (_paths(other) <= _paths(left))


DOCUMENT: Object = {"f:metadata": {"f:ownerReferences": {".": {}, 'k:{"uid":"u-1"}': {}}},
                    "f:spec": {"f:holderIdentity": {}, "f:renewTime": {}}}


def test_a_handed_out_document_decodes_to_its_set() -> None:
    fields = FieldSet.from_fields_v1(copy.deepcopy(DOCUMENT))
    handed_out = fields.to_fields_v1()
    assert FieldSet.from_fields_v1(handed_out) is fields
    assert FieldSet.from_fields_v1(copy.deepcopy(handed_out)) == fields
    fieldpath._handed_out.clear()
    assert FieldSet.from_fields_v1(handed_out) == fields


def test_a_document_with_the_id_of_a_forgotten_one_is_read() -> None:
    fields = FieldSet.from_fields_v1(copy.deepcopy(DOCUMENT))
    handed_out = fields.to_fields_v1()
    other: Object = {"f:spec": {"f:other": {}}}
    fieldpath._handed_out[id(other)] = fields  # as if ``other`` took a dead document's id
    assert FieldSet.from_fields_v1(other) == FieldSet((), {"f:spec": FieldSet({"f:other"})})
    assert FieldSet.from_fields_v1(handed_out) is fields


def _lease(renewed: int) -> Object:
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "node-1", "namespace": "kube-node-lease",
                         "ownerReferences": [{"apiVersion": "v1", "kind": "Node",
                                              "name": "node-1", "uid": "u-1"}]},
            "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40,
                     "renewTime": f"2026-01-01T00:00:{renewed:02d}.000000Z"}}


def _renewed(live: Object, renewed: int) -> Object:
    new = _lease(renewed)
    new["metadata"] = {**new["metadata"], "uid": live["metadata"]["uid"]}
    UpdateTracker(LEASES, manager="hollow-node", subresource="",
                  now=f"2026-01-01T00:00:{renewed:02d}Z")(new, live)
    return new


def test_lease_renewals_record_what_reading_every_document_afresh_records() -> None:
    live = _created(LEASES, {**_lease(0), "metadata": {**_lease(0)["metadata"], "uid": "l-1"}},
                    "hollow-node")
    fresh = copy.deepcopy(live)
    for renewed in range(1, 6):
        live = _renewed(live, renewed)
        fresh = _renewed(copy.deepcopy(fresh), renewed)
        assert orjson.dumps(live) == orjson.dumps(fresh)
    document = live["metadata"]["managedFields"][0]["fieldsV1"]
    assert _renewed(live, 6)["metadata"]["managedFields"][0]["fieldsV1"] is document


LEASE_SCHEMA = fieldcheck.compiled_for_kind("coordination.k8s.io", "v1", "Lease")


@pytest.mark.parametrize("value", ["2026-01-01T00:00:07.000000Z", 7, 7.5, True, ["x"],
                                   {"x": 1}, None])
def test_heartbeat_strings_are_blanked_only_when_they_are_strings(value: Any) -> None:
    """Leases that differ in who renewed them when, and in their owner, share one verdict
    by string type; a value of another type is never mistaken for a string."""
    assert LEASE_SCHEMA is not None
    leases = [_lease(renewed) for renewed in range(3)]
    odd = _lease(9)
    odd["spec"]["renewTime"] = value
    odd["metadata"]["ownerReferences"][0]["uid"] = value
    for obj in (*leases, odd, _lease(4), odd):
        assert fieldcheck.clean(obj, LEASE_SCHEMA) is fieldcheck._clean(
            obj, LEASE_SCHEMA.root, True)
    assert fieldcheck.clean(odd, LEASE_SCHEMA) is (value is None or isinstance(value, str))
