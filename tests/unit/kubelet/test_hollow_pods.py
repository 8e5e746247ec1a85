"""HollowPods: which pods it touches, and the one write per step it makes for them."""

from __future__ import annotations

import random
from typing import Any

from steersman.client import FakeClock
from steersman.kubelet.hollow.config import HollowConfig
from steersman.kubelet.hollow.pod_status import COMPLETE_AFTER_ANNOTATION
from steersman.kubelet.hollow.pods import HollowPods, status_body
from steersman.kubelet.hollow.registration import new_hollow_node
from tests.unit.kubelet.fake_api import FakeAPI

Object = dict[str, Any]


def make() -> tuple[FakeAPI, FakeClock, HollowPods]:
    config = HollowConfig(count=2)
    rng = random.Random(0)
    nodes = {n.name: n for n in (new_hollow_node(config, i, rng) for i in range(2))}
    api, clock = FakeAPI(), FakeClock()
    return api, clock, HollowPods(api, nodes, clock=clock, workers=1)  # type: ignore[arg-type]


def pod(name: str, node: str, **extra: Any) -> Object:
    return {"metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}",
                         "resourceVersion": "1", **extra.pop("metadata", {})},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "nginx"}],
                     **extra.pop("spec", {})},
            "status": extra.pop("status", {"phase": "Pending"})}


def seen(pods: HollowPods, obj: Object) -> None:
    pods.informer.indexer.upsert(obj)
    pods._seen(obj)


async def test_pods_on_other_nodes_are_ignored() -> None:
    api, _, pods = make()
    seen(pods, pod("elsewhere", "real-node"))
    assert len(pods.queue) == 0
    assert await pods.reconcile("ns/elsewhere") is None
    assert api.calls == []


async def test_a_bound_pod_gets_running_with_unique_ips_in_one_write() -> None:
    api, _, pods = make()
    for name in ("a", "b"):
        seen(pods, pod(name, "hollow-1"))
        await pods.reconcile(f"ns/{name}")
    assert api.calls == [("update_status", "pods", "a"), ("update_status", "pods", "b")]
    ips = [api.objects[("pods", n)]["status"]["podIP"] for n in ("a", "b")]
    assert ips == ["127.42.1.2", "127.42.1.3"]
    assert api.objects[("pods", "a")]["status"]["hostIP"] == "127.42.1.1"


async def test_a_deleted_pod_is_removed_at_once_with_a_uid_precondition() -> None:
    api, _, pods = make()
    seen(pods, pod("a", "hollow-0", metadata={"deletionTimestamp": "2026-01-01T00:00:30Z"}))
    await pods.reconcile("ns/a")
    assert api.calls == [("delete", "pods", "a grace=0 uid=uid-a")]


async def test_addresses_are_released_when_pods_finish_or_vanish() -> None:
    _, _, pods = make()
    node = pods._nodes["hollow-0"]
    seen(pods, pod("a", "hollow-0", status={"phase": "Running", "podIP": "127.42.0.7"}))
    assert node.pool.address_of("uid-a") == "127.42.0.7"  # a resumed pod keeps its address
    seen(pods, pod("a", "hollow-0", status={"phase": "Succeeded", "podIP": "127.42.0.7"}))
    assert node.pool.address_of("uid-a") is None
    seen(pods, pod("b", "hollow-0", status={"phase": "Running", "podIP": "127.42.0.8"}))
    pods._gone(pod("b", "hollow-0"))
    assert len(node.pool) == 0


async def test_a_pod_with_complete_after_succeeds_on_time() -> None:
    api, clock, pods = make()
    annotations = {COMPLETE_AFTER_ANNOTATION: "5"}
    job = pod("job", "hollow-0", metadata={"annotations": annotations},
              spec={"restartPolicy": "Never"})
    api.objects[("pods", "job")] = job  # as the server holds it: the writes leave out spec
    seen(pods, job)
    await pods.reconcile("ns/job")
    seen(pods, api.objects[("pods", "job")])
    assert await pods.reconcile("ns/job") == 5.0
    clock.advance(5)
    await pods.reconcile("ns/job")
    assert api.objects[("pods", "job")]["status"]["phase"] == "Succeeded"
    assert pods.pods_on("hollow-0")[0]["metadata"]["name"] == "job"


async def test_conflicts_and_missing_pods_are_not_errors() -> None:
    api, _, pods = make()
    api.fail = 409
    seen(pods, pod("a", "hollow-0"))
    assert await pods.reconcile("ns/a") is None
    api.fail = 404
    assert await pods.reconcile("ns/a") is None


def test_the_status_write_carries_metadata_and_status_only() -> None:
    live = pod("a", "hollow-0", metadata={
        "labels": {"app": "web"}, "annotations": {"note": "x"}, "resourceVersion": "7",
        "managedFields": [{"manager": "kubectl", "operation": "Update"}]})
    body = status_body(live, {"phase": "Running"})
    assert body == {"apiVersion": "v1", "kind": "Pod", "status": {"phase": "Running"},
                    "metadata": {k: v for k, v in live["metadata"].items()
                                 if k != "managedFields"}}
    assert body["metadata"]["labels"] == {"app": "web"}  # a status write may change them
    assert "managedFields" in live["metadata"]  # the informer's object is left alone
