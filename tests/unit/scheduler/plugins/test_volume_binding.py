"""VolumeBinding: missing and immediate claims, volume node affinity, WFFC node selection."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steersman.scheduler import FakeClock, Scheduler
from steersman.scheduler.cache import SchedulerCache
from steersman.scheduler.framework.interface import SUCCESS, Code
from steersman.scheduler.plugins import volume_binding
from tests.unit.scheduler.fixtures import (
    FakeBinder,
    FakeRecorder,
    cluster,
    filter_all,
    make_node,
    make_pod,
)

Object = dict[str, Any]
WFFC = {"metadata": {"name": "local-path"}, "provisioner": "steersman.io/local-path",
        "volumeBindingMode": "WaitForFirstConsumer"}


class ClaimWriter:
    def __init__(self, binder: FakeBinder) -> None:
        self.binder = binder
        self.selected: list[tuple[str, str, int]] = []

    async def select_node(self, claim: Mapping[str, Any], node_name: str) -> None:
        # how many pods were bound when the claim was annotated: PreBind runs before Bind
        self.selected.append((claim["metadata"]["name"], node_name, len(self.binder.bindings)))


def claim(name: str = "data", *, volume: str = "", storage_class: str = "local-path",
          **annotations: str) -> Object:
    return {"metadata": {"name": name, "namespace": "default", "resourceVersion": "1",
                         "annotations": annotations},
            "spec": {"storageClassName": storage_class, "volumeName": volume}}


def pinned_volume(name: str, node: str) -> Object:
    return {"metadata": {"name": name}, "spec": {"nodeAffinity": {"required": {
        "nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}}}


def pod_with(*claims: str) -> Object:
    return make_pod("p", volumes=[{"name": c, "persistentVolumeClaim": {"claimName": c}}
                                  for c in claims])


def volumes_cluster(*, claims: tuple[Object, ...] = (), volumes: tuple[Object, ...] = (),
                    classes: tuple[Object, ...] = (WFFC,)) -> SchedulerCache:
    cache = cluster([make_node("n1", labels={"zone": "a"}), make_node("n2")])
    cache.claims.update({f"default/{c['metadata']['name']}": c for c in claims})
    cache.volumes.update({v["metadata"]["name"]: v for v in volumes})
    cache.storage_classes.update({c["metadata"]["name"]: c for c in classes})
    return cache


def reasons(statuses: Mapping[str, Any]) -> dict[str, tuple[Code, str]]:
    return {node: (s.code, s.message()) for node, s in statuses.items()}


PLUGIN = volume_binding.new({}, None)  # type: ignore[arg-type]


def test_pods_without_claims_are_skipped_and_missing_claims_are_unresolvable() -> None:
    assert filter_all(PLUGIN, volumes_cluster(), make_pod("p")) == {"n1": SUCCESS,
                                                                    "n2": SUCCESS}
    missing = reasons(filter_all(PLUGIN, volumes_cluster(), pod_with("data")))
    assert missing["n1"] == (Code.UNSCHEDULABLE_AND_UNRESOLVABLE,
                             'persistentvolumeclaim "data" not found')
    deleting = claim()
    deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    got = reasons(filter_all(PLUGIN, volumes_cluster(claims=(deleting,)), pod_with("data")))
    assert got["n2"][1] == 'persistentvolumeclaim "data" is being deleted'


def test_unbound_claims_of_immediate_or_unknown_classes_block_the_pod() -> None:
    immediate = {**WFFC, "metadata": {"name": "now"}, "volumeBindingMode": "Immediate"}
    for storage_class in ("now", "", "absent"):
        cache = volumes_cluster(claims=(claim(storage_class=storage_class),),
                                classes=(WFFC, immediate))
        got = reasons(filter_all(PLUGIN, cache, pod_with("data")))
        assert got["n1"] == (Code.UNSCHEDULABLE_AND_UNRESOLVABLE,
                             "pod has unbound immediate PersistentVolumeClaims")


def test_bound_volumes_pin_the_pod_to_their_node() -> None:
    cache = volumes_cluster(claims=(claim(volume="pv-1"),),
                            volumes=(pinned_volume("pv-1", "n2"),))
    got = reasons(filter_all(PLUGIN, cache, pod_with("data")))
    assert got == {"n1": (Code.UNSCHEDULABLE_AND_UNRESOLVABLE,
                          "node(s) had volume node affinity conflict"),
                   "n2": (Code.SUCCESS, "")}
    lost = volumes_cluster(claims=(claim(volume="pv-gone"),))
    assert reasons(filter_all(PLUGIN, lost, pod_with("data")))["n2"][1] == (
        "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)")


def test_waiting_claims_fit_where_their_class_allows() -> None:
    zoned = {**WFFC, "allowedTopologies": [{"matchLabelExpressions": [
        {"key": "zone", "values": ["a"]}]}]}
    cache = volumes_cluster(claims=(claim(),), classes=(zoned,))
    got = reasons(filter_all(PLUGIN, cache, pod_with("data")))
    assert got["n1"] == (Code.SUCCESS, "")
    assert got["n2"][1] == "node(s) didn't find available persistent volumes to bind"
    static = {**WFFC, "provisioner": "kubernetes.io/no-provisioner"}
    cache = volumes_cluster(claims=(claim(),), classes=(static,))
    assert {s[1] for s in reasons(filter_all(PLUGIN, cache, pod_with("data"))).values()} == {
        "node(s) didn't find available persistent volumes to bind"}


async def test_scheduler_selects_the_node_before_binding_and_retries_on_a_new_claim() -> None:
    binder, recorder = FakeBinder(), FakeRecorder()
    writer = ClaimWriter(binder)
    clock = FakeClock()
    scheduler = Scheduler(binder=binder, recorder=recorder, clock=clock, claims=writer)
    scheduler.on_node_add(make_node("n1"))
    scheduler.on_storage_class_update(WFFC)
    scheduler.on_pod_add(pod_with("data", "done"))
    await scheduler.run_until_idle()
    assert binder.bindings == {}
    assert binder.unschedulable["p"][0].startswith(
        '0/1 nodes are available: persistentvolumeclaim "data" not found.')
    scheduler.on_claim_update(claim())
    scheduler.on_claim_update(claim("done", **{"volume.kubernetes.io/selected-node": "n1"}))
    await clock.advance(1.0)  # the back-off of the first attempt
    scheduler.queue.flush()
    await scheduler.run_until_idle()
    assert binder.bindings == {"p": "n1"}
    assert writer.selected == [("data", "n1", 0)]  # "done" already names the node
