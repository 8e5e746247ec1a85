"""ClusterIPs and NodePorts stay unique when two API servers share one etcd.

Both servers allocate from a range of 13 dynamic addresses while Services are created on
both at once: every Service gets an address, no address twice, the 14th is refused as the
range being full, and an address freed on one server is taken on the other. Two servers
racing for one requested nodePort: exactly one wins, the other gets 422.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from steersman.api.errors import StatusError
from steersman.client import SERVICES, Client, load_kubeconfig
from tests.e2e.harness import ServerProcess, start_server
from tests.etcd import running_etcd

pytestmark = pytest.mark.etcd
Object = dict[str, Any]
DYNAMIC = 13  # a /28 keeps .0, .1 (kubernetes) and .15 out: .2-.14


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    cidr = f"127.{random.randint(100, 250)}.{random.randint(0, 255)}.0/28"
    options = ("--service-cidr", cidr, "--no-dns", "--no-ingress", "--no-scheduler")
    with running_etcd(tmp_path) as endpoint:
        first = start_server(tmp_path / "a", "--store", f"etcd://{endpoint}", *options)
        try:
            second = start_server(tmp_path / "b", "--store", f"etcd://{endpoint}", *options)
            try:
                yield first, second
            finally:
                second.stop()
        finally:
            first.stop()


def service(name: str, **spec: Any) -> Object:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"ports": [{"port": 80}], **spec}}


async def test_two_servers_never_hand_out_one_address_twice(
        pair: tuple[ServerProcess, ServerProcess]) -> None:
    first, second = pair
    async with Client(load_kubeconfig(first.kubeconfig), qps=1000, burst=1000) as a, \
            Client(load_kubeconfig(second.kubeconfig), qps=1000, burst=1000) as b:
        made = await asyncio.gather(*(
            (a if i % 2 else b).create(SERVICES, service(f"s{i}")) for i in range(DYNAMIC)))
        ips = [s["spec"]["clusterIP"] for s in made]
        assert len(set(ips)) == DYNAMIC, ips
        with pytest.raises(StatusError) as full:
            await a.create(SERVICES, service("one-too-many"))
        assert "is full" in full.value.message
        # An address given back on one server is free on the other, once the deletion
        # has been seen there.
        await a.delete(SERVICES, "s0", namespace="default")
        for _ in range(100):
            try:
                again = await b.create(SERVICES, service("again"))
                break
            except StatusError:
                await asyncio.sleep(0.1)
        else:
            raise AssertionError("the freed address never became available")
        assert again["spec"]["clusterIP"] == made[0]["spec"]["clusterIP"]

        # Two servers racing for one requested nodePort: exactly one wins.
        await a.delete(SERVICES, "s1", namespace="default")
        await a.delete(SERVICES, "s2", namespace="default")

        async def node_port(client: Client, name: str) -> Object | StatusError:
            spec = {"type": "NodePort", "ports": [{"port": 80, "nodePort": 31234}]}
            for _ in range(50):  # until the deleted Services' addresses are released
                try:
                    return await client.create(SERVICES, service(name, **spec))
                except StatusError as err:
                    if "serviceIP" not in err.message:
                        return err
                    await asyncio.sleep(0.1)
            raise AssertionError("no ClusterIP came free")

        results = await asyncio.gather(node_port(a, "np-a"), node_port(b, "np-b"))
        winners = [r for r in results if not isinstance(r, StatusError)]
        losers = [r for r in results if isinstance(r, StatusError)]
        assert len(winners) == 1 and len(losers) == 1, results
        assert losers[0].code == 422 and "already allocated" in losers[0].message
