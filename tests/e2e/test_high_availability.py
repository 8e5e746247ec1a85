"""Two servers on one etcd: one active controller manager and one active scheduler; the
standby takes both Leases over when the leader is killed."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import ServerProcess, start_server
from tests.etcd import running_etcd

pytestmark = pytest.mark.etcd


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    with running_etcd(tmp_path) as endpoint:
        first = start_server(tmp_path / "a", "--store", f"etcd://{endpoint}")
        try:
            second = start_server(tmp_path / "b", "--store", f"etcd://{endpoint}")
            try:
                yield first, second
            finally:
                second.stop()
        finally:
            first.stop()


def _holder(server: ServerProcess, lease: str = "kube-controller-manager") -> str:
    result = server.kubectl("get", "lease", lease, "-n", "kube-system", "-o", "json",
                            check=False)
    if result.returncode != 0:
        return ""
    return str(json.loads(result.stdout)["spec"].get("holderIdentity") or "")


def _wait_holder(server: ServerProcess, unlike: str = "", timeout: float = 45,
                 lease: str = "kube-controller-manager") -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        holder = _holder(server, lease)
        if holder and holder != unlike:
            return holder
        time.sleep(0.25)
    raise AssertionError(f"no new {lease} leader within {timeout}s")


def _pid_of(holder: str) -> int:
    return int(holder.split("_")[1])


def test_one_leader_and_failover(pair: tuple[ServerProcess, ServerProcess]) -> None:
    first, second = pair
    leader = _wait_holder(first)
    assert _holder(second) == leader, "both servers must see the same Lease in etcd"
    by_pid = {first.process.pid: first, second.process.pid: second}
    leading = by_pid[_pid_of(leader)]
    standby = second if leading is first else first
    scheduler = _wait_holder(first, lease="kube-scheduler")
    first.kubectl("create", "configmap", "shared", "--from-literal=a=b")
    assert standby.kubectl("get", "configmap", "shared", "-o", "name").stdout.strip() == (
        "configmap/shared")
    leading.kill()
    new_leader = _wait_holder(standby, unlike=leader)
    assert _pid_of(new_leader) == standby.process.pid
    if by_pid[_pid_of(scheduler)] is leading:
        scheduler = _wait_holder(standby, unlike=scheduler, lease="kube-scheduler")
    assert _pid_of(scheduler) == standby.process.pid, "the scheduler Lease must move too"
