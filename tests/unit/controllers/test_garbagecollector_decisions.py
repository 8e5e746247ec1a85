"""The garbage collector's decisions, table-driven: owner states, dependents, patches."""

from __future__ import annotations

from typing import Any

import pytest

from steersman.api.patch import apply_json_patch
from steersman.controllers.garbagecollector.decisions import (
    BACKGROUND,
    FOREGROUND,
    Delete,
    DependentAction,
    Keep,
    OwnerState,
    RemoveOwnerReferences,
    finalizer_removal_patch,
    owner_references_patch,
    owner_state,
    pending_finalizer,
    plan_dependent,
    plan_foreground,
)

Object = dict[str, Any]
PRESENT, ABSENT, WAITING = OwnerState.PRESENT, OwnerState.ABSENT, OwnerState.DELETING_DEPENDENTS
DELETING = "2024-01-01T00:00:00Z"


def obj(uid: str = "u1", *, namespace: str = "ns", deleting: bool = False,
        finalizers: tuple[str, ...] = (), refs: tuple[Object, ...] = (),
        rv: str = "7") -> Object:
    meta: Object = {"name": f"n-{uid}", "uid": uid, "resourceVersion": rv}
    if namespace:
        meta["namespace"] = namespace
    if deleting:
        meta["deletionTimestamp"] = DELETING
    if finalizers:
        meta["finalizers"] = list(finalizers)
    if refs:
        meta["ownerReferences"] = list(refs)
    return {"metadata": meta}


def ref(uid: str, block: bool | None = None) -> Object:
    owner: Object = {"apiVersion": "v1", "kind": "ConfigMap", "name": f"n-{uid}", "uid": uid}
    if block is not None:
        owner["blockOwnerDeletion"] = block
    return owner


@pytest.mark.parametrize(("found", "namespace", "expected"), [
    (None, "ns", ABSENT),
    (obj("other"), "ns", ABSENT),
    (obj("o"), "elsewhere", ABSENT),
    (obj("o", namespace=""), "", PRESENT),
    (obj("o"), "ns", PRESENT),
    (obj("o", deleting=True), "ns", PRESENT),
    (obj("o", deleting=True, finalizers=("orphan",)), "ns", PRESENT),
    (obj("o", deleting=True, finalizers=("foregroundDeletion",)), "ns", WAITING),
    (obj("o", finalizers=("foregroundDeletion",)), "ns", PRESENT),
], ids=["not found", "another uid", "another namespace", "cluster-scoped", "present",
        "deleting in the background", "orphaning", "foreground", "finalizer not yet acting"])
def test_owner_state(found: Object | None, namespace: str, expected: OwnerState) -> None:
    assert owner_state(found, uid="o", namespace=namespace) is expected


@pytest.mark.parametrize(("states", "expected"), [
    ({}, Keep()),
    ({"a": PRESENT}, Keep()),
    ({"a": PRESENT, "b": PRESENT}, Keep()),
    ({"a": ABSENT}, Delete(BACKGROUND)),
    ({"a": ABSENT, "b": ABSENT}, Delete(BACKGROUND)),
    ({"a": WAITING}, Delete(FOREGROUND)),
    ({"a": WAITING, "b": ABSENT}, Delete(FOREGROUND)),
    ({"a": PRESENT, "b": ABSENT}, RemoveOwnerReferences(frozenset({"b"}))),
    ({"a": PRESENT, "b": WAITING, "c": ABSENT}, RemoveOwnerReferences(frozenset({"b", "c"}))),
], ids=["no owners", "owner present", "owners present", "owner gone", "owners gone",
        "owner waits", "owner waits, other gone", "one of two gone",
        "present owner keeps it from a waiting one"])
def test_plan_dependent(states: dict[str, OwnerState], expected: DependentAction) -> None:
    assert plan_dependent(states) == expected


@pytest.mark.parametrize(("dependents", "blocking", "to_delete"), [
    ([], (), ()),
    ([obj("d1", refs=(ref("o"),))], (), ("d1",)),
    ([obj("d1", refs=(ref("o", block=False),))], (), ("d1",)),
    ([obj("d1", refs=(ref("o", block=True),))], ("d1",), ("d1",)),
    ([obj("d1", refs=(ref("o", block=True),), deleting=True, finalizers=("x",))],
     ("d1",), ()),
    ([obj("d1", refs=(ref("other", block=True), ref("o")))], (), ("d1",)),
    ([obj("d1", refs=(ref("o", block=True),)), obj("d2", refs=(ref("o"),), deleting=True)],
     ("d1",), ("d1",)),
], ids=["no dependents", "not blocking", "blockOwnerDeletion false", "blocking",
        "blocking and being deleted", "blocks another owner", "mixed"])
def test_plan_foreground(dependents: list[Object], blocking: tuple[str, ...],
                         to_delete: tuple[str, ...]) -> None:
    plan = plan_foreground("o", dependents)
    assert (plan.blocking, plan.to_delete, plan.done) == (blocking, to_delete, not blocking)


@pytest.mark.parametrize(("target", "expected"), [
    (obj(), None),
    (obj(finalizers=("orphan",)), None),
    (obj(deleting=True), None),
    (obj(deleting=True, finalizers=("example.com/x",)), None),
    (obj(deleting=True, finalizers=("foregroundDeletion",)), "foregroundDeletion"),
    (obj(deleting=True, finalizers=("foregroundDeletion", "orphan")), "orphan"),
])
def test_pending_finalizer(target: Object, expected: str | None) -> None:
    assert pending_finalizer(target) == expected


@pytest.mark.parametrize(("refs", "remove", "kept"), [
    ((ref("a"), ref("b")), {"a"}, [ref("b")]),
    ((ref("a"), ref("b"), ref("c")), {"a", "c"}, [ref("b")]),
    ((ref("a"),), {"a"}, None),
])
def test_owner_references_patch(refs: tuple[Object, ...], remove: set[str],
                                kept: list[Object] | None) -> None:
    patched = apply_json_patch(obj(refs=refs), owner_references_patch(obj(refs=refs), remove))
    assert patched["metadata"].get("ownerReferences") == kept


@pytest.mark.parametrize(("finalizers", "kept"), [
    (("foregroundDeletion", "example.com/x"), ["example.com/x"]),
    (("foregroundDeletion",), None),
])
def test_finalizer_removal_patch(finalizers: tuple[str, ...], kept: list[str] | None) -> None:
    target = obj(deleting=True, finalizers=finalizers)
    patched = apply_json_patch(target, finalizer_removal_patch(target, "foregroundDeletion"))
    assert patched["metadata"].get("finalizers") == kept


def test_patches_test_the_resource_version_they_were_computed_from() -> None:
    cached = obj(refs=(ref("a"), ref("b")), rv="7")
    newer = obj(refs=(ref("a"), ref("b")), rv="8")
    with pytest.raises(Exception, match="testing value"):
        apply_json_patch(newer, owner_references_patch(cached, {"a"}))
