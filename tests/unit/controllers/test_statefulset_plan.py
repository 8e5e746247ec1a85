"""The StatefulSet controller's next step given its pods."""

from __future__ import annotations

from typing import Any

import pytest

from steersman.controllers.statefulset.identity import claims_for, ordinal_of, stateful_pod
from steersman.controllers.statefulset.plan import Shape, next_steps, set_status

Object = dict[str, Any]


def pod(ordinal: int, revision: str = "r1", *, ready: bool = True, phase: str = "Running",
        terminating: bool = False) -> Object:
    meta: Object = {"name": f"web-{ordinal}", "labels": {"controller-revision-hash": revision}}
    if terminating:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return {"metadata": meta, "status": {"phase": phase, "conditions": [
        {"type": "Ready", "status": "True" if ready else "False"}]}}


def steps(shape: Shape, pods: list[Object]) -> list[tuple[str, int]]:
    by_ordinal = {ordinal_of("web", p["metadata"]["name"]) or 0: p for p in pods}
    return [(s.action, s.ordinal) for s in next_steps(shape, by_ordinal)]


ORDERED = Shape(replicas=3, current_revision="r1", update_revision="r1")
PARALLEL = Shape(replicas=3, current_revision="r1", update_revision="r1", ordered=False)
UPDATE = Shape(replicas=3, current_revision="r1", update_revision="r2")


@pytest.mark.parametrize(("shape", "pods", "expected"), [
    (ORDERED, [], [("create", 0)]),
    (ORDERED, [pod(0, ready=False)], []),
    (ORDERED, [pod(0)], [("create", 1)]),
    (ORDERED, [pod(0), pod(1), pod(2)], []),
    (ORDERED, [pod(0), pod(1, phase="Failed")], [("delete", 1)]),
    (ORDERED, [pod(0), pod(1, terminating=True)], []),
    (PARALLEL, [], [("create", 0), ("create", 1), ("create", 2)]),
    (PARALLEL, [pod(0, ready=False)], [("create", 1), ("create", 2)]),
    # scale down: highest ordinal first, one at a time
    (Shape(1, "r1", "r1"), [pod(0), pod(1), pod(2)], [("delete", 2)]),
    (Shape(1, "r1", "r1"), [pod(0), pod(1), pod(2, terminating=True)], []),
    (Shape(1, "r1", "r1", ordered=False), [pod(0), pod(1), pod(2)],
     [("delete", 2), ("delete", 1)]),
    # rolling update: reverse ordinal order, waiting for health
    (UPDATE, [pod(0), pod(1), pod(2)], [("delete", 2)]),
    (UPDATE, [pod(0), pod(1), pod(2, "r2")], [("delete", 1)]),
    (UPDATE, [pod(0), pod(1), pod(2, "r2", ready=False)], []),
    (Shape(3, "r1", "r2", partition=2), [pod(0), pod(1), pod(2, "r2")], []),
    (Shape(3, "r1", "r2", rolling=False), [pod(0), pod(1), pod(2)], []),
])
def test_next_steps(shape: Shape, pods: list[Object], expected: list[tuple[str, int]]) -> None:
    assert steps(shape, pods) == expected


def test_partition_keeps_low_ordinals_on_the_current_revision() -> None:
    shape = Shape(3, "r1", "r2", partition=2)
    created = next_steps(shape, {0: pod(0), 1: pod(1)})
    assert [(s.ordinal, s.revision) for s in created] == [(2, "r2")]
    assert next_steps(shape, {})[0].revision == "r1"


def test_status_completes_the_rollout_when_all_pods_are_updated_and_ready() -> None:
    pods = {i: pod(i, "r2") for i in range(3)}
    status = set_status({"metadata": {"generation": 2}}, UPDATE, pods, 0)
    assert status["currentRevision"] == status["updateRevision"] == "r2"
    assert (status["replicas"], status["readyReplicas"], status["currentReplicas"],
            status["updatedReplicas"]) == (3, 3, 3, 3)
    pods[0] = pod(0, "r1")
    status = set_status({}, UPDATE, pods, 0)
    assert (status["currentRevision"], status["currentReplicas"],
            status["updatedReplicas"]) == ("r1", 1, 2)


def test_pod_identity_and_claims() -> None:
    sts = {"metadata": {"name": "web", "namespace": "ns", "uid": "u"},
           "spec": {"serviceName": "svc", "selector": {"matchLabels": {"app": "web"}},
                    "volumeClaimTemplates": [{"metadata": {"name": "data"},
                                              "spec": {"accessModes": ["ReadWriteOnce"]}}]}}
    template = {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c"}], "volumes": [{"name": "data"}]}}
    made = stateful_pod(sts, template, 1, "web-r2")
    assert made["metadata"]["name"] == "web-1"
    assert made["metadata"]["labels"] == {
        "app": "web", "statefulset.kubernetes.io/pod-name": "web-1",
        "apps.kubernetes.io/pod-index": "1", "controller-revision-hash": "web-r2"}
    assert (made["spec"]["hostname"], made["spec"]["subdomain"]) == ("web-1", "svc")
    assert made["spec"]["volumes"] == [
        {"name": "data", "persistentVolumeClaim": {"claimName": "data-web-1"}}]
    assert [c["metadata"]["name"] for c in claims_for(sts, 1)] == ["data-web-1"]
    assert ordinal_of("web", "web-12") == 12 and ordinal_of("web", "webby-1") is None
