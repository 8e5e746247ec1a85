"""ServiceLBController: load-balancer addresses from a pool, never twice, released, warned."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from steersman.client import SERVICES, Informer, Resource
from steersman.controllers.servicelb import AddressPool, ServiceLBController, parse_pool

Object = dict[str, Any]


class FakeClient:
    """Records status writes and events; the informer it is given never runs."""

    def __init__(self) -> None:
        self.statuses: list[tuple[str, Object]] = []
        self.events: list[tuple[str, str, str]] = []

    async def update_status(self, resource: Resource, obj: Object, **_: Any) -> Object:
        self.statuses.append((obj["metadata"]["name"], obj["status"]["loadBalancer"]))
        return obj

    async def create_event(self, regarding: Object, *, reason: str, message: str,
                           type: str = "Normal", **_: Any) -> Object:
        self.events.append((regarding["metadata"]["name"], type, f"{reason}: {message}"))
        return {}


class FakeFactory:
    def __init__(self, client: FakeClient) -> None:
        self.services = Informer(client, SERVICES)  # type: ignore[arg-type]

    def informer(self, resource: Resource, **_: Any) -> Informer:
        return self.services


def lb(name: str, *, ip: str = "", created: str = "2024-01-01T00:00:00Z", **spec: Any) -> Object:
    status = {"loadBalancer": {"ingress": [{"ip": ip}]}} if ip else {}
    return {"metadata": {"name": name, "namespace": "ns", "creationTimestamp": created,
                         "resourceVersion": "1"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}], **spec},
            "status": status}


def controller(*services: Object, pool: str = "127.44.9.0/30"
               ) -> tuple[ServiceLBController, FakeClient, FakeFactory]:
    client = FakeClient()
    built = ServiceLBController(client, pool=pool)  # type: ignore[arg-type]
    factory = FakeFactory(client)
    built.setup(factory)  # type: ignore[arg-type]
    for service in services:
        factory.services.indexer.upsert(service)
    return built, client, factory


def test_pool_hands_out_lowest_free_address_once() -> None:
    pool = AddressPool(ipaddress.IPv4Network("127.44.9.0/30"))
    assert pool.allocate("a") == "127.44.9.1" and pool.allocate("a") == "127.44.9.1"
    assert not pool.claim("b", "127.44.9.1") and not pool.claim("b", "10.0.0.1")
    assert pool.allocate("b") == "127.44.9.2" and pool.allocate("c") is None
    assert pool.release("a") == "127.44.9.1" and pool.allocate("c") == "127.44.9.1"
    assert parse_pool("127.44.0.0/24").num_addresses == 256
    for bad in ("nope", "10.0.0.0/8", "0.0.0.0/30", "224.0.0.0/24"):
        with pytest.raises(ValueError, match=r"IPv4 CIDR|smaller range|no unicast"):
            parse_pool(bad)


async def test_rebuilt_from_statuses_before_handing_out() -> None:
    kept = lb("kept", ip="127.44.9.2")
    duplicate = lb("dup", ip="127.44.9.2", created="2024-02-01T00:00:00Z")
    ctrl, client, _ = controller(kept, duplicate, lb("new"))
    for key in ("ns/kept", "ns/new", "ns/dup"):
        await ctrl.reconcile(key)
    assert client.statuses == [("new", {"ingress": [{"ip": "127.44.9.1", "ipMode": "VIP"}]}),
                               ("dup", {})]  # never two Services showing one address
    assert ctrl.pool.address_of("ns/kept") == "127.44.9.2"
    assert ctrl.pool.address_of("ns/dup") is None  # its address is taken and the pool is full
    assert [e[:2] for e in client.events] == [("dup", "Warning")]
    assert "no free address in the load-balancer pool 127.44.9.0/30" in client.events[0][2]


async def test_exhaustion_waits_for_a_release_and_type_change_releases() -> None:
    ctrl, client, factory = controller(lb("a"), lb("b"), lb("c"))
    for key in ("ns/a", "ns/b", "ns/c", "ns/c"):
        await ctrl.reconcile(key)
    assert len(client.events) == 1  # warned once while nothing changed
    factory.services.indexer.delete("ns/a")
    await ctrl.reconcile("ns/a")
    assert await ctrl.queue.get() == "ns/c"  # the waiting Service is looked at again
    await ctrl.reconcile("ns/c")
    assert client.statuses[-1] == ("c", {"ingress": [{"ip": "127.44.9.1", "ipMode": "VIP"}]})
    now_cluster_ip = lb("b", ip="127.44.9.2")
    now_cluster_ip["spec"]["type"] = "ClusterIP"
    factory.services.indexer.upsert(now_cluster_ip)
    await ctrl.reconcile("ns/b")
    assert client.statuses[-1] == ("b", {}) and ctrl.pool.address_of("ns/b") is None


async def test_requested_address_is_honoured_only_when_free_and_in_pool() -> None:
    ctrl, client, _ = controller(lb("a", loadBalancerIP="127.44.9.2"),
                                 lb("b", loadBalancerIP="127.44.9.2"),
                                 lb("c", loadBalancerIP="10.1.1.1"),
                                 lb("d", loadBalancerClass="example.com/other"))
    for key in ("ns/a", "ns/b", "ns/c", "ns/d"):
        await ctrl.reconcile(key)
    assert client.statuses == [("a", {"ingress": [{"ip": "127.44.9.2", "ipMode": "VIP"}]})]
    messages = {name: message for name, _, message in client.events}
    assert "127.44.9.2 is held by Service ns/a" in messages["b"]
    assert "10.1.1.1 is not in the load-balancer pool" in messages["c"]
    assert "d" not in messages
