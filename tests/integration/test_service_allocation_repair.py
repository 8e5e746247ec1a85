"""The store-backed Service address allocator in one control plane: keys follow Services.

A Service's ClusterIP and NodePorts are keys under ``/registry/allocations/``; they are
released after the write that drops them, given back when a create fails, recorded at
start for Services written before keys existed, and a key nobody holds is repaired away
on the second pass that finds it so.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from steersman.api.errors import StatusError
from steersman.apiserver.service_allocation import IPS_PREFIX, PORTS_PREFIX, ServiceAllocator
from steersman.server.controlplane import ControlPlane, ServerConfig

Object = dict[str, Any]


@pytest.fixture
async def plane(tmp_path: Path) -> AsyncIterator[ControlPlane]:
    config = ServerConfig(data_dir=tmp_path / "data", port=0, controllers=(),
                          scheduler=False, leader_elect=False, insecure_http=True,
                          store_url="memory://")
    control_plane = ControlPlane(config)
    await control_plane.start()
    try:
        yield control_plane
    finally:
        await control_plane.stop()


def service(name: str, **spec: Any) -> Object:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"ports": [{"port": 80}], **spec}}


async def keys(plane: ControlPlane, prefix: str) -> set[str]:
    assert plane.store is not None
    listed = await plane.store.list(prefix)
    return {kv.key for kv in listed.items}


async def eventually_keys(plane: ControlPlane, prefix: str, wanted: set[str]) -> None:
    for _ in range(100):
        if await keys(plane, prefix) == wanted:
            return
        await asyncio.sleep(0.02)
    assert await keys(plane, prefix) == wanted


def services_info(plane: ControlPlane) -> Any:
    assert plane.api is not None
    return plane.api.resources.get("", "v1", "services")


async def test_keys_follow_creates_updates_and_deletes(plane: ControlPlane) -> None:
    assert plane.api is not None
    registry, info = plane.api.registry, services_info(plane)
    made = await registry.create(info, "default", service(
        "web", type="NodePort", ports=[{"port": 80, "nodePort": 30080}]))
    ip = made["spec"]["clusterIP"]
    kubernetes_ip = (await registry.get(info, "default", "kubernetes"))["spec"]["clusterIP"]
    assert await keys(plane, IPS_PREFIX) == {IPS_PREFIX + ip, IPS_PREFIX + kubernetes_ip}
    assert await keys(plane, PORTS_PREFIX) == {PORTS_PREFIX + "TCP/30080"}
    # The type change drops the nodePort: released once the update is written.
    changed = orjson.loads(orjson.dumps(await registry.get(info, "default", "web")))
    changed["spec"]["type"] = "ClusterIP"
    del changed["spec"]["ports"][0]["nodePort"]
    await registry.update(info, "default", "web", changed)
    await eventually_keys(plane, PORTS_PREFIX, set())
    await registry.delete(info, "default", "web", _delete_options())
    await eventually_keys(plane, IPS_PREFIX, {IPS_PREFIX + kubernetes_ip})


async def test_a_failed_create_gives_its_addresses_back(plane: ControlPlane) -> None:
    assert plane.api is not None
    registry, info = plane.api.registry, services_info(plane)
    await registry.create(info, "default", service("same"))
    before = await keys(plane, IPS_PREFIX)
    with pytest.raises(StatusError) as caught:  # AlreadyExists, after admission
        await registry.create(info, "default", service(
            "same", type="NodePort", ports=[{"port": 80, "nodePort": 30090}]))
    assert caught.value.code == 409
    assert await keys(plane, IPS_PREFIX) == before
    assert await keys(plane, PORTS_PREFIX) == set()


async def test_requested_addresses_held_by_others_are_refused(plane: ControlPlane) -> None:
    assert plane.api is not None
    registry, info = plane.api.registry, services_info(plane)
    first = await registry.create(info, "default", service(
        "a", type="NodePort", ports=[{"port": 80, "nodePort": 30100}]))
    for spec, field in (({"clusterIP": first["spec"]["clusterIP"]}, "spec.clusterIPs"),
                        ({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30100}]},
                         "spec.ports[0].nodePort")):
        with pytest.raises(StatusError) as caught:
            await registry.create(info, "default", service("b", **spec))
        assert caught.value.code == 422
        assert field in caught.value.message and "already allocated" in caught.value.message


async def test_start_records_old_services_and_repair_removes_strays(
        plane: ControlPlane) -> None:
    assert plane.api is not None and plane.store is not None and plane.cache is not None
    registry, info = plane.api.registry, services_info(plane)
    made = await registry.create(info, "default", service("old"))
    ip_key = IPS_PREFIX + made["spec"]["clusterIP"]
    # As if written before keys existed: the key goes, and a fresh allocator puts it back.
    await plane.store.delete(ip_key)
    stray = IPS_PREFIX + "127.43.255.250"
    await plane.store.create(stray, orjson.dumps({"owner": {"uid": "gone"}, "metadata": {}}))
    await asyncio.sleep(0.05)  # let the watch cache see both
    allocator = ServiceAllocator(plane.config.service_cidr, store=plane.store,
                                 cache=plane.cache)
    await allocator.start()
    try:
        assert ip_key in await keys(plane, IPS_PREFIX)
        assert stray in await keys(plane, IPS_PREFIX), "one pass only suspects a key"
        await asyncio.sleep(0.05)
        await allocator.repair()
        assert stray not in await keys(plane, IPS_PREFIX)
        assert ip_key in await keys(plane, IPS_PREFIX), "held keys are never repaired away"
    finally:
        await allocator.stop()


def _delete_options() -> Any:
    from steersman.apiserver.generic import DeleteOptions

    return DeleteOptions()
