"""A pod's life after its create, through the generic registry as the handlers drive it:
binding, the node agent's status write, a label patch — what is stored, managedFields
included, equals what the path-by-path comparison gives, and the status endpoint keeps its
rules (the spec stays as it was, an invalid status is a 422)."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import make_mocked_request

from steersman.api import errors
from steersman.api.builtin import builtin_registry
from steersman.api.resources import ResourceInfo
from steersman.api.ssa import updater
from steersman.apiserver import fieldmanager
from steersman.apiserver.generic import GenericRegistry
from steersman.apiserver.patching import STRATEGIC, apply_patch, patched
from steersman.apiserver.requestinfo import RequestInfo
from steersman.apiserver.subresources import _with_condition
from steersman.apiserver.watchcache import WatchCache
from steersman.store.memory import MemoryStore
from tests.unit.api.test_remembered_results import pod
from tests.unit.api.test_update_fast_paths import reference_compare, running

Object = dict[str, Any]
NOW = 1_800_000_000.0


@pytest.fixture
async def registry() -> AsyncIterator[GenericRegistry]:
    store = MemoryStore()
    cache = WatchCache(store)
    await cache.start()
    yield GenericRegistry(store=store, cache=cache, resources=builtin_registry(),
                          clock=lambda: NOW)
    await cache.close()


def _pods(registry: GenericRegistry) -> ResourceInfo:
    info = registry.resources.get("", "v1", "pods")
    assert info is not None
    return info


def _tracker(registry: GenericRegistry, manager: str,
             subresource: str = "") -> fieldmanager.UpdateTracker:
    return fieldmanager.update_tracker(_pods(registry), manager=manager,
                                       subresource=subresource, now=registry.now())


def _bind(node: str) -> Any:
    def bind(current: Object) -> Object:
        current["spec"]["nodeName"] = node
        current.setdefault("status", {}).setdefault("conditions", []).append(
            {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
             "lastTransitionTime": "2027-01-15T08:00:00Z"})
        return current
    return bind


async def _life(registry: GenericRegistry, name: str, node: str) -> list[Object]:
    """Create, bind, status, label patch: the object after each write."""
    info = _pods(registry)
    body = pod(name)
    del body["metadata"]["uid"], body["metadata"]["creationTimestamp"], body["status"]
    seen = [await registry.create(info, "default", body, track_fields=_tracker(
        registry, "kube-controller-manager"))]
    seen.append(await registry.guaranteed_update(info, "default", name, _bind(node),
                                                 subresource="binding"))
    status_put = running(copy.deepcopy(seen[-1]), 3)
    status_put["spec"]["containers"][0]["image"] = "ignored:by-status"
    status_put["metadata"]["labels"]["status-endpoint"] = "keeps-labels"
    saved, _ = await registry.update(info, "default", name, status_put, subresource="status",
                                     track_fields=_tracker(registry, "hollow-node", "status"))
    seen.append(saved)
    label = {"metadata": {"labels": {"patched": "yes"}}}
    seen.append(await registry.guaranteed_update(
        info, "default", name, lambda current: patched(info, current, STRATEGIC, label),
        track_fields=_tracker(registry, "kubectl")))
    return [copy.deepcopy(obj) for obj in seen]


def _comparable(obj: Object) -> Object:
    out = copy.deepcopy(obj)
    for key in ("uid", "resourceVersion", "name"):
        out["metadata"].pop(key, None)
    return out


async def test_stored_pods_equal_those_of_the_path_by_path_comparison(
        registry: GenericRegistry, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = await _life(registry, "fast", "node-1")
    monkeypatch.setattr(updater, "compare", reference_compare)
    reference = await _life(registry, "reference", "node-1")
    assert [_comparable(o) for o in fast] == [_comparable(o) for o in reference]
    managers = [entry["manager"] for entry in fast[-1]["metadata"]["managedFields"]]
    assert managers == ["hollow-node", "kube-controller-manager", "kubectl"]


async def test_a_status_write_keeps_the_spec_and_takes_labels(
        registry: GenericRegistry) -> None:
    created, bound, status, _ = await _life(registry, "web", "node-2")
    assert status["spec"] == bound["spec"] != created["spec"]
    assert status["spec"]["containers"][0]["image"] == created["spec"]["containers"][0]["image"]
    assert status["metadata"]["labels"]["status-endpoint"] == "keeps-labels"
    assert status["status"]["phase"] == "Running"


async def test_an_invalid_status_is_a_422_naming_the_field(registry: GenericRegistry) -> None:
    *_, last = await _life(registry, "web", "node-3")
    broken = copy.deepcopy(last)
    broken["status"]["phase"] = "Sleeping"
    with pytest.raises(errors.StatusError) as caught:
        await registry.update(_pods(registry), "default", "web", broken, subresource="status",
                              track_fields=_tracker(registry, "hollow-node", "status"))
    assert caught.value.code == 422
    assert "status.phase" in str(caught.value.to_status())


async def test_a_status_write_on_another_node_of_the_same_template_stays_apart(
        registry: GenericRegistry) -> None:
    first = await _life(registry, "a", "node-1")
    second = await _life(registry, "b", "node-2")
    assert (first[-1]["spec"]["nodeName"], second[-1]["spec"]["nodeName"]) == (
        "node-1", "node-2")
    assert first[-1]["metadata"]["managedFields"] == second[-1]["metadata"]["managedFields"]


@pytest.mark.parametrize(("version", "conflict"), [("stale", True), ("live", False),
                                                   (None, False)])
async def test_a_patch_naming_a_resource_version_is_a_precondition(
        registry: GenericRegistry, version: str | None, conflict: bool) -> None:
    *_, last = await _life(registry, "web", "node-4")
    live = last["metadata"]["resourceVersion"]
    meta: Object = {"labels": {"again": "yes"}}
    if version is not None:
        meta["resourceVersion"] = "1" if version == "stale" else live
    request = make_mocked_request("PATCH", "/api/v1/namespaces/default/pods/web",
                                  headers={"User-Agent": "kubectl/v1.32"})
    ri = RequestInfo("", "v1", "pods", "default", "web")
    if conflict:
        with pytest.raises(errors.StatusError) as caught:
            await apply_patch(registry, request, _pods(registry), ri, STRATEGIC,
                              {"metadata": meta})
        assert caught.value.code == 409
        assert (await registry.get(_pods(registry), "default", "web")) == last
    else:
        result = await apply_patch(registry, request, _pods(registry), ri, STRATEGIC,
                                   {"metadata": meta})
        assert result.obj["metadata"]["labels"]["again"] == "yes"
        assert result.obj["metadata"]["resourceVersion"] != live


async def test_a_binding_that_shares_the_live_pod_stores_what_a_copy_would(
        registry: GenericRegistry) -> None:
    # The binding subresource hands its mutation the live (cached) pod, not a copy: the new
    # pod shares what it leaves unchanged, and the cached one must stay as it was.
    info = _pods(registry)
    bound = []
    for name, copying in (("copied", True), ("shared", False)):
        body = pod(name)
        del body["metadata"]["uid"], body["metadata"]["creationTimestamp"], body["status"]
        await registry.create(info, "default", body)
        live = await registry.lookup(info, "default", name)
        assert live is not None
        before = copy.deepcopy(live)

        def bind(current: Object, copying: bool = copying) -> Object:
            if copying:
                return _bind("node-1")(current)
            status = dict(current.get("status") or {})
            status["conditions"] = _with_condition(status.get("conditions") or [],
                                                   "PodScheduled", "True",
                                                   "2027-01-15T08:00:00Z")
            return {**current, "metadata": dict(current["metadata"]),
                    "spec": {**current["spec"], "nodeName": "node-1"}, "status": status}

        bound.append(await registry.guaranteed_update(info, "default", name, bind,
                                                      subresource="binding", copy=copying))
        assert live == before
    assert _comparable(bound[0]) == _comparable(bound[1])


def test_with_condition_replaces_or_appends_and_leaves_the_list_alone() -> None:
    pending = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                "lastProbeTime": None, "lastTransitionTime": "then"}]
    kept = copy.deepcopy(pending)
    assert _with_condition(pending, "PodScheduled", "True", "now") == [
        {"type": "PodScheduled", "status": "True", "reason": "Unschedulable",
         "lastProbeTime": None, "lastTransitionTime": "now"}]
    assert pending == kept
    assert _with_condition([], "PodScheduled", "True", "now") == [
        {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
         "lastTransitionTime": "now"}]
