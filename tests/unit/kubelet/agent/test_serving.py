"""The agent's streaming pieces: which instance ``logs`` reads, and the serving options."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import uuid
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from steersman.apiserver.pki import ensure_pki, issue_serving_certificate
from steersman.cli.agent import agent
from steersman.client import Indexer
from steersman.kubelet.addresses import PodAddressPool
from steersman.kubelet.agent.config import AgentConfig
from steersman.kubelet.agent.cri import POD_UID_LABEL
from steersman.kubelet.agent.serving import AgentPods, NodeServing
from steersman.kubelet.runtime import interface as rt

Object = dict[str, Any]
T0 = datetime(2026, 11, 29, tzinfo=UTC)


class _Instances:
    """The two read calls AgentPods makes of a runtime service."""

    def __init__(self, *instances: rt.ContainerStatus) -> None:
        self.instances = list(instances)

    async def list_containers(self, flt: rt.ContainerFilter | None = None
                              ) -> list[rt.ContainerStatus]:
        wanted = (flt.labels if flt else {}).items()
        return [i for i in self.instances if wanted <= i.labels.items()]

    async def container_status(self, container_id: str) -> rt.ContainerStatus:
        for instance in self.instances:
            if instance.id == container_id:
                return instance
        raise rt.NotFound(container_id)


def _instance(cid: str, state: rt.ContainerState, attempt: int) -> rt.ContainerStatus:
    return rt.ContainerStatus(id=cid, sandbox_id="sb", name="c", state=state, created_at=T0,
                              log_path=f"/logs/c/{attempt}.log", attempt=attempt,
                              labels={POD_UID_LABEL: "uid-1"})


def _resolver(status: Object | None) -> AgentPods:
    pods = Indexer()
    pods.upsert({"metadata": {"namespace": "ns", "name": "p", "uid": "uid-1"},
                 "spec": {"containers": [{"name": "c"}]}, "status": {}})
    service = _Instances(_instance("old", rt.ContainerState.EXITED, 0),
                         _instance("new", rt.ContainerState.RUNNING, 1))
    addresses = PodAddressPool(ipaddress.IPv4Network("127.42.200.0/24"))
    return AgentPods(pods, service, addresses=addresses,  # type: ignore[arg-type]
                     statuses=lambda uid: status)


def _container_status(state: Object, last: str = "") -> Object:
    status: Object = {"name": "c", "state": state, "containerID": "process://new"}
    if last:
        status["lastState"] = {"terminated": {"containerID": f"process://{last}"}}
    return {"containerStatuses": [status]}


@pytest.mark.parametrize(("status", "current", "log", "previous"), [
    (None, "", None, None),  # not started as far as any status says
    (_container_status({"running": {}}, last="old"), "new", "1.log", "0.log"),
    (_container_status({"running": {}}), "new", "1.log", None),
    # CrashLoopBackOff: both read the instance that ended last, as the kubelet does
    (_container_status({"waiting": {}}, last="old"), "old", "0.log", "0.log"),
    (_container_status({"waiting": {}}), "", None, None),
])
async def test_logs_read_the_instance_the_status_names(
        status: Object | None, current: str, log: str | None, previous: str | None) -> None:
    pod = await _resolver(status).pod("ns", "p")
    assert pod is not None
    target = pod.containers["c"]
    assert target.container_id == current
    assert (target.log_path.name if target.log_path else None) == log
    assert (target.previous_log_path.name if target.previous_log_path else None) == previous


async def test_unknown_pods_and_stopped_containers() -> None:
    resolver = _resolver(None)
    assert await resolver.pod("ns", "other") is None
    assert await resolver.container_running("new")
    assert not await resolver.container_running("old")
    assert not await resolver.container_running("gone")


async def test_a_pod_without_an_ip_cannot_be_dialled() -> None:
    pod = await _resolver(None).pod("ns", "p")
    assert pod is not None
    with pytest.raises(OSError, match="no IP address"):
        await pod.connect(80)


def test_serving_needs_certificate_key_and_client_ca_together(tmp_path: Path) -> None:
    cert = tmp_path / "node.crt"
    cert.write_text("x")
    with pytest.raises(ValueError, match="--tls-private-key-file, --client-ca-file missing"):
        AgentConfig(node_name="n", data_dir=tmp_path, serving_cert_file=cert)
    with pytest.raises(ValueError, match=r"--client-ca-file: .* is not a readable file"):
        AgentConfig(node_name="n", data_dir=tmp_path, serving_cert_file=cert,
                    serving_key_file=cert, client_ca_file=tmp_path / "missing.crt")
    config = AgentConfig(node_name="n", data_dir=tmp_path, port=0, serving_cert_file=cert,
                         serving_key_file=cert, client_ca_file=cert)
    assert config.node_ip.startswith("127.42.")


def test_agent_command_says_which_serving_flag_is_missing(tmp_path: Path) -> None:
    cert = tmp_path / "node.crt"
    cert.write_text("x")
    result = CliRunner().invoke(agent, ["--node-name", "n", "--data-dir", str(tmp_path),
                                        "--tls-cert-file", str(cert)])
    assert result.exit_code == 2
    assert "--tls-private-key-file, --client-ca-file missing" in result.output


def _serving_config(tmp_path: Path, name: str, *, port: int,
                    any_port_if_taken: bool) -> AgentConfig:
    """Node ``name`` (its own /24) with a certificate from a fresh CA."""
    node_ip = _node_ip(name)
    pki = ensure_pki(tmp_path / "pki")
    cert, key = issue_serving_certificate(pki, common_name=name, hosts=[node_ip])
    (tmp_path / "node.crt").write_bytes(cert)
    (tmp_path / "node.key").write_bytes(key)
    return AgentConfig(node_name=name, data_dir=tmp_path / "data", port=port,
                       any_port_if_taken=any_port_if_taken,
                       serving_cert_file=tmp_path / "node.crt",
                       serving_key_file=tmp_path / "node.key", client_ca_file=pki.ca_cert)


def _node_ip(name: str) -> str:
    return f"127.42.{128 + zlib.crc32(name.encode()) % 128}.1"


@pytest.mark.parametrize("any_port_if_taken", [True, False])
async def test_a_taken_port_gives_way_only_when_allowed(tmp_path: Path,
                                                       any_port_if_taken: bool) -> None:
    name = f"n-{uuid.uuid4().hex[:8]}"
    with socket.socket() as taken:
        taken.bind((_node_ip(name), 0))
        taken.listen()
        config = _serving_config(tmp_path, name, port=taken.getsockname()[1],
                                 any_port_if_taken=any_port_if_taken)
        serving = NodeServing(config, _resolver(None), _Instances())  # type: ignore[arg-type]
        if not any_port_if_taken:
            with pytest.raises(OSError):
                await serving.start()
            return
        port = await serving.start()
        try:
            assert port not in (0, config.port)
            assert await _healthz(config, port) == b"ok"
        finally:
            await serving.stop()


async def _healthz(config: AgentConfig, port: int) -> bytes:
    context = ssl.create_default_context(cafile=str(config.client_ca_file))
    reader, writer = await asyncio.open_connection(config.node_ip, port, ssl=context)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    reply = await reader.read()
    writer.close()
    return reply.rpartition(b"\r\n\r\n")[2]


async def test_without_a_certificate_nothing_is_served(tmp_path: Path) -> None:
    config = AgentConfig(node_name="n", data_dir=tmp_path)
    serving = NodeServing(config, _resolver(None), _Instances())  # type: ignore[arg-type]
    assert await serving.start() == 0
    await serving.stop()
