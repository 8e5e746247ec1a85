"""Host mode's ``hostPort`` relays, over real loopback sockets (127.42.201.0/24 only)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from pathlib import Path

import pytest

from steersman.kubelet.network import NetworkError, PodRef, new_pod_network
from steersman.kubelet.network.host import HostNetwork
from steersman.kubelet.network.interface import HostPort

SUBNET = ipaddress.IPv4Network("127.42.201.0/24")
NODE_IP = "127.42.201.1"


def free_port(protocol: str = "TCP") -> int:
    """A port free on the node's address and on the first pod's (both this test's)."""
    kind = socket.SOCK_DGRAM if protocol == "UDP" else socket.SOCK_STREAM
    while True:
        with socket.socket(socket.AF_INET, kind) as probe:
            probe.bind((NODE_IP, 0))
            port = int(probe.getsockname()[1])
        with socket.socket(socket.AF_INET, kind) as other:
            try:
                other.bind(("127.42.201.2", port))
            except OSError:
                continue
        return port


@pytest.fixture
async def network(tmp_path: Path) -> HostNetwork:
    network = new_pod_network("host", subnet=SUBNET, state_dir=tmp_path)
    assert isinstance(network, HostNetwork)
    return network


async def echo_server(ip: str, port: int) -> asyncio.Server:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.read()  # until the client's half-close
        writer.write(data.upper())
        await writer.drain()
        writer.close()
    return await asyncio.start_server(echo, ip, port)


def pod_with(*ports: dict[str, object], uid: str = "u1") -> PodRef:
    return PodRef.of({"metadata": {"uid": uid, "namespace": "ns", "name": uid},
                      "spec": {"containers": [{"name": "c", "ports": list(ports)}]}})


async def test_tcp_is_relayed_from_the_node_address_with_half_close(
        network: HostNetwork) -> None:
    host_port = free_port()
    pod = pod_with({"containerPort": 8080, "hostPort": host_port})
    attachment = await network.setup(pod)
    server = await echo_server(attachment.pod_ip, 8080)
    try:
        reader, writer = await asyncio.open_connection(NODE_IP, host_port)
        writer.write(b"hello " * 50_000)  # more than one read, so back-pressure applies
        writer.write_eof()
        assert await reader.read() == b"HELLO " * 50_000
        writer.close()
    finally:
        server.close()
    await network.teardown(pod.uid)
    with pytest.raises(ConnectionRefusedError):  # the listener went with the pod
        await asyncio.open_connection(NODE_IP, host_port)
    assert network.addresses.address_of(pod.uid) is None


async def test_udp_is_relayed_and_answered_to_the_client(network: HostNetwork) -> None:
    host_port = free_port("UDP")
    pod = pod_with({"containerPort": 5353, "hostPort": host_port, "protocol": "UDP"})
    attachment = await network.setup(pod)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        server.bind((attachment.pod_ip, 5353))
        server.setblocking(False)
        client.setblocking(False)
        loop = asyncio.get_running_loop()
        await loop.sock_sendto(client, b"ping", (NODE_IP, host_port))
        data, relay = await loop.sock_recvfrom(server, 100)
        assert data == b"ping"
        await loop.sock_sendto(server, b"pong", relay)
        assert await loop.sock_recv(client, 100) == b"pong"
    await network.close()  # the agent stops: listeners close, the pod keeps its address
    assert network.addresses.address_of(pod.uid) == attachment.pod_ip
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as again:
        again.bind((NODE_IP, host_port))  # free again


async def test_a_bound_port_fails_the_pod_and_frees_its_address(network: HostNetwork) -> None:
    host_port = free_port()
    with socket.socket() as holder:
        holder.bind((NODE_IP, host_port))
        holder.listen()
        other = free_port()
        pod = pod_with({"containerPort": 1, "hostPort": other},
                       {"containerPort": 2, "hostPort": host_port})
        with pytest.raises(NetworkError, match=f"hostPort {host_port}/TCP: cannot listen on "
                           f"{NODE_IP}:{host_port}: Address already in use") as err:
            await network.setup(pod)
        assert err.value.reason == "HostPortUnavailable"
        assert network.addresses.address_of(pod.uid) is None
        with socket.socket() as probe:
            probe.bind((NODE_IP, other))  # the port opened before the failure was closed


async def test_resume_reopens_the_relays_of_an_adopted_pod(network: HostNetwork) -> None:
    host_port = free_port()
    pod = pod_with({"containerPort": 8080, "hostPort": host_port})
    attachment = network.adopt(pod.uid, "127.42.201.7")
    assert attachment is not None
    server = await echo_server(attachment.pod_ip, 8080)
    try:
        await network.resume(pod, attachment.pod_ip)
        await network.resume(pod, attachment.pod_ip)  # idempotent
        reader, writer = await asyncio.open_connection(NODE_IP, host_port)
        writer.write(b"again")
        writer.write_eof()
        assert await reader.read() == b"AGAIN"
        writer.close()
    finally:
        server.close()
        await network.teardown(pod.uid)


async def test_a_closed_pod_port_resets_the_client(network: HostNetwork) -> None:
    host_port = free_port()
    pod = pod_with({"containerPort": free_port(), "hostPort": host_port})
    await network.setup(pod)
    try:
        reader, writer = await asyncio.open_connection(NODE_IP, host_port)
        assert await reader.read() == b""  # nothing listens in the pod: closed at once
        writer.close()
    finally:
        await network.teardown(pod.uid)


async def test_a_host_network_pod_binds_its_ports_itself(network: HostNetwork) -> None:
    host_port = free_port()
    ref = PodRef("u9", "ns", "p", host_network=True, host_ports=(HostPort(host_port, host_port),))
    await network.setup(ref)
    with socket.socket() as own:
        own.bind((NODE_IP, host_port))  # no relay holds it
    await network.teardown("u9")
