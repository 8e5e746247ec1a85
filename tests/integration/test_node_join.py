""":mod:`steersman.kubelet.agent.join` against a real ``steersman server`` process.

The join runs in the test's event loop: pin the CA, get the node's client and serving
certificates through CSRs the server's controller manager approves and signs, reuse them
without a token, and renew the client certificate in place.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from steersman.api.bootstraptoken import parse_join_token
from steersman.client import Client, Resource
from steersman.kubelet.agent import node_credentials as nc
from steersman.kubelet.agent.join import JoinError, JoinRequest, join_cluster
from tests.e2e.harness import ServerProcess, start_server

SELF_REVIEWS = Resource("authentication.k8s.io", "v1", "selfsubjectreviews", namespaced=False,
                        kind="SelfSubjectReview")


class ShiftedClock:
    """Wall time plus an offset the test moves; sleeps are real (and short here)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(min(max(seconds, 0.0), 0.05))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_server(tmp_path_factory.mktemp("join-server"))
    try:
        yield process
    finally:
        process.stop()


def request(server: ServerProcess, node: str, *, token: bool = True) -> JoinRequest:
    parsed = parse_join_token((server.data_dir / "node-token").read_text()) if token else None
    return JoinRequest(server=server.url, token=parsed, node_name=node,
                       hosts=("127.42.250.1", node))


async def whoami(client: Client) -> str:
    review = await client.create(SELF_REVIEWS, {"apiVersion": "authentication.k8s.io/v1",
                                                "kind": "SelfSubjectReview"})
    return str(review["status"]["userInfo"]["username"])


async def test_join_then_reuse_without_a_token(server: ServerProcess, tmp_path: Path) -> None:
    clock = ShiftedClock()
    joined = await join_cluster(request(server, "int-a"), tmp_path, clock=clock)
    assert joined.joined
    async with Client(joined.client_config) as client:
        assert await whoami(client) == "system:node:int-a"
    again = await join_cluster(request(server, "int-a", token=False), tmp_path, clock=clock)
    assert not again.joined
    with pytest.raises(JoinError, match=r"no usable credentials .* join with --server"):
        await join_cluster(request(server, "int-b", token=False), tmp_path, clock=clock)


async def test_expired_credentials_need_the_token_again(server: ServerProcess,
                                                        tmp_path: Path) -> None:
    clock = ShiftedClock()
    await join_cluster(request(server, "int-c"), tmp_path, clock=clock)
    clock.offset = 2 * 365 * 86400.0
    with pytest.raises(JoinError, match="no usable credentials"):
        await join_cluster(request(server, "int-c", token=False), tmp_path, clock=clock)


async def test_the_client_certificate_is_renewed_in_place(server: ServerProcess,
                                                          tmp_path: Path) -> None:
    clock = ShiftedClock()
    joined = await join_cluster(request(server, "int-d"), tmp_path, clock=clock)
    rotation = joined.rotation
    before = nc.load_certificate(joined.credentials.client_cert)
    assert before is not None and rotation.due_in() > 250 * 86400
    clock.offset = nc.renew_at(before) - time.time() + 1
    assert rotation.due_in() <= 0
    renewed = asyncio.Event()
    renew = rotation.renew

    async def renew_and_tell() -> None:
        await renew()
        renewed.set()

    rotation.renew = renew_and_tell  # type: ignore[method-assign]
    renewing = asyncio.create_task(rotation.run())
    try:
        await asyncio.wait_for(renewed.wait(), 60)  # a guard against hanging, not a timing
    finally:
        renewing.cancel()
        await asyncio.gather(renewing, return_exceptions=True)
    clock.offset = 0.0
    after = nc.load_certificate(joined.credentials.client_cert)
    assert after is not None and after.serial_number != before.serial_number
    assert after.not_valid_after_utc >= before.not_valid_after_utc
    async with Client(joined.client_config) as client:
        assert await whoami(client) == "system:node:int-d"


async def test_a_new_address_gets_a_new_serving_certificate(server: ServerProcess,
                                                            tmp_path: Path) -> None:
    clock = ShiftedClock()
    joined = await join_cluster(request(server, "int-e"), tmp_path, clock=clock)
    serving = nc.load_certificate(joined.credentials.serving_cert)
    assert serving is not None and nc.names_all(serving, ("127.42.250.1", "int-e"))
    moved = JoinRequest(server=server.url, token=None, node_name="int-e",
                        hosts=("127.42.251.1", "int-e"))
    again = await join_cluster(moved, tmp_path, clock=clock)
    assert not again.joined
    renewed = nc.load_certificate(joined.credentials.serving_cert)
    assert renewed is not None and nc.names_all(renewed, ("127.42.251.1", "int-e"))
    assert not nc.names_all(renewed, ("127.42.250.1",))
