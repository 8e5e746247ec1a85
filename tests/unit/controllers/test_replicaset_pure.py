"""ReplicaSet pure parts: deletion order, slow-start batches, status, claims."""

from __future__ import annotations

from typing import Any

import pytest

from steersman.api.errors import StatusError
from steersman.api.selectors import parse_label_selector
from steersman.controllers.claims import plan_claims
from steersman.controllers.replicaset.ranking import pods_to_delete
from steersman.controllers.replicaset.slowstart import batch_sizes, slow_start
from steersman.controllers.replicaset.status import calculate_status

Object = dict[str, Any]
NOW = 1_700_000_000.0


def pod(name: str, *, node: str = "n1", phase: str = "Running", ready: bool = True,
        created: int = 0, ready_at: int = 0, restarts: int = 0,
        labels: dict[str, str] | None = None, owner: str = "") -> Object:
    meta: Object = {"name": name, "namespace": "ns", "uid": f"uid-{name}",
                    "labels": labels if labels is not None else {"app": "fe"},
                    "creationTimestamp": f"2023-11-14T22:{created:02d}:00Z"}
    if owner:
        meta["ownerReferences"] = [{"kind": "ReplicaSet", "name": owner, "uid": owner,
                                    "controller": True}]
    return {"metadata": meta, "spec": {"nodeName": node},
            "status": {"phase": phase, "containerStatuses": [{"restartCount": restarts}],
                       "conditions": [{"type": "Ready", "status": str(ready),
                                       "lastTransitionTime":
                                           f"2023-11-14T22:{ready_at:02d}:00Z"}]}}


def names(pods: list[Object]) -> list[str]:
    return [p["metadata"]["name"] for p in pods]


@pytest.mark.parametrize(("first", "second"), [
    (pod("unscheduled", node=""), pod("scheduled")),
    (pod("pending", phase="Pending"), pod("running")),
    (pod("not-ready", ready=False), pod("ready")),
    (pod("ready-later", ready_at=10), pod("ready-earlier", ready_at=1)),
    (pod("crashy", restarts=5), pod("steady")),
    (pod("newer", created=5), pod("older", created=1)),
])
def test_deletion_order(first: Object, second: Object) -> None:
    for pods in ([first, second], [second, first]):
        assert names(pods_to_delete(pods, 1, now=NOW)) == [names([first])[0]]


def test_doubled_up_pods_go_first_and_all_when_asked() -> None:
    pods = [pod("alone", node="a"), pod("pair-1", node="b"), pod("pair-2", node="b")]
    assert set(names(pods_to_delete(pods, 2, now=NOW))) == {"pair-1", "pair-2"}
    assert pods_to_delete(pods, 5, now=NOW) == pods


@pytest.mark.parametrize(("count", "sizes"), [
    (0, []), (1, [1]), (3, [1, 2]), (10, [1, 2, 4, 3]), (16, [1, 2, 4, 8, 1])])
def test_batch_sizes(count: int, sizes: list[int]) -> None:
    assert batch_sizes(count) == sizes


async def test_slow_start_stops_after_the_first_failing_batch() -> None:
    calls = 0

    async def create() -> None:
        nonlocal calls
        calls += 1
        if calls >= 3:
            raise StatusError(403, "Forbidden", "exceeded quota")

    successes, error = await slow_start(10, create)
    assert (calls, successes) == (3, 2)
    assert error is not None and error.message == "exceeded quota"


def replica_set(replicas: int = 3, status: Object | None = None) -> Object:
    return {"metadata": {"name": "fe", "uid": "fe", "generation": 2},
            "spec": {"replicas": replicas, "minReadySeconds": 30,
                     "template": {"metadata": {"labels": {"app": "fe", "tier": "web"}}}},
            "status": status or {}}


def test_status_counts_and_failure_condition() -> None:
    pods = [pod("a", labels={"app": "fe", "tier": "web"}, ready_at=0),
            pod("b", ready_at=59), pod("c", ready=False)]
    now = 1_699_999_980.0 + 10  # 22:13:10: "a" ready for 70 s, "b" for 11 s
    status = calculate_status(replica_set(5), pods, failure="exceeded quota", now=now)
    assert {k: v for k, v in status.items() if k != "conditions"} == {
        "replicas": 3, "fullyLabeledReplicas": 1, "readyReplicas": 2, "availableReplicas": 1,
        "observedGeneration": 2}
    assert [(c["type"], c["reason"]) for c in status["conditions"]] == [
        ("ReplicaFailure", "FailedCreate")]
    cleared = calculate_status(replica_set(3, status), pods, failure=None, now=now)
    assert "conditions" not in cleared


def test_claims_keep_adopt_release_and_ignore() -> None:
    owner = {"metadata": {"name": "fe", "uid": "fe"}}
    candidates = [pod("mine", owner="fe"), pod("orphan"), pod("strayed", owner="fe",
                                                                labels={"app": "x"}),
                  pod("theirs", owner="other"), pod("unrelated", labels={"app": "x"})]
    claims = plan_claims(owner, candidates, parse_label_selector("app=fe"))
    assert (names(claims.owned), names(claims.adopt), names(claims.release)) == (
        ["mine"], ["orphan"], ["strayed"])
    deleting = {"metadata": {**owner["metadata"], "deletionTimestamp": "2024-01-01T00:00:00Z"}}
    claims = plan_claims(deleting, candidates, parse_label_selector("app=fe"))
    assert (names(claims.owned), claims.adopt, claims.release) == (["mine"], [], [])
