"""The ingress controller inside ``steersman up``, driven with the real kubectl.

One ``steersman up`` (process runtime) for the module. Pods run a tiny inline aiohttp
server (this interpreter, so aiohttp is there) that binds ``$POD_IP`` and answers with its
pod name; requests go to the ingress's own loopback address with a ``Host`` header (or
TLS SNI), as a browser behind a DNS record would send them. At the end the module stops
the cluster and removes every container it left running.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from steersman.ingress.certificates import self_signed
from steersman.kubelet.runtime.registry import new_runtime
from tests.e2e.harness import ServerProcess, start_server
from tests.tools import need_tool

Object = dict[str, Any]
NAMESPACE = "web"
POD_SERVER = r"""
import asyncio, os
from aiohttp import web
name, released = os.environ["POD_NAME"], asyncio.Event()
async def hello(request):
    proto = request.headers.get("X-Forwarded-Proto", "")
    return web.Response(text=f"{name} {request.path} {proto}\n")
async def socket(request):
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for message in ws:
        await ws.send_str(f"{name}:{message.data}")
    return ws
async def stream(request):
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    await response.write(b"data: first\n\n")
    await released.wait()
    await response.write(b"data: second\n\n")
    return response
async def release(request):
    released.set()
    return web.Response(text="released\n")
app = web.Application()
app.router.add_get("/ws", socket)
app.router.add_get("/stream", stream)
app.router.add_get("/release", release)
app.router.add_get("/{tail:.*}", hello)
web.run_app(app, host=os.environ["POD_IP"], port=8080, print=None, access_log=None)
"""


@dataclass
class Cluster:
    server: ServerProcess
    address: str
    http_port: int
    https_port: int

    def apply(self, *manifests: Object) -> None:
        self.server.kubectl("apply", "-n", NAMESPACE, "-f", "-",
                            input=json.dumps({"apiVersion": "v1", "kind": "List",
                                              "items": list(manifests)}))


def eventually(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} not reached within {timeout}s"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    need_tool("kubectl", "the end-to-end tests drive the real kubectl")
    data_dir = tmp_path_factory.mktemp("ingress") / "data"
    name = f"ing{uuid.uuid4().hex[:6]}"
    log_path = data_dir.parent / "up.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "steersman", "up", "--port", "0", "--data-dir",
             str(data_dir), "--name", name, "--nodes", "2"], stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True)
    server = ServerProcess(data_dir, process, log_path)
    try:
        eventually(lambda: "export KUBECONFIG=" in log_path.read_text()
                   or process.poll() is not None, 60, "the export line")
        found = re.search(r"ingress \(class steersman\): http://([\d.]+):(\d+), "
                          r"https://[\d.]+:(\d+)", log_path.read_text())
        assert found, server.log_tail()
        cluster = Cluster(server, found[1], int(found[2]), int(found[3]))
        _deploy_apps(cluster)
        yield cluster
    finally:
        server.stop()
        for node in ("node-0", "node-1"):
            asyncio.run(_remove_containers(data_dir / "nodes" / f"{name}-{node}" / "runtime"))


async def _remove_containers(state_dir: Path) -> None:
    runtime = new_runtime("process", state_dir=state_dir)
    for sandbox in await runtime.list_sandboxes():
        await runtime.remove_sandbox(sandbox.id)


def _deploy_apps(cluster: Cluster) -> None:
    cluster.server.kubectl("create", "namespace", NAMESPACE)
    cluster.apply(_deployment("blue", 2), _deployment("green", 1),
                  _service("blue", {"name": "http", "port": 80}),
                  _service("green", {"port": 8080}))
    for app, replicas in (("blue", 2), ("green", 1)):
        eventually(partial(_has_ready, cluster, app, replicas), 90,
                   f"{replicas} ready endpoint(s) of {app}")


def _has_ready(cluster: Cluster, service: str, count: int) -> bool:
    return _ready_endpoints(cluster, service) == count


def _ready_endpoints(cluster: Cluster, service: str) -> int:
    out = cluster.server.kubectl("get", "endpointslices", "-n", NAMESPACE, "-l",
                                 f"kubernetes.io/service-name={service}", "-o", "json").stdout
    return sum(1 for item in json.loads(out)["items"] for e in item.get("endpoints") or []
               if (e.get("conditions") or {}).get("ready"))


def _deployment(app: str, replicas: int) -> Object:
    env = [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
           {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
    container = {"name": "web", "image": "python", "command": [sys.executable, "-c", POD_SERVER],
                 "env": env, "ports": [{"name": "web", "containerPort": 8080}],
                 "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1}}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": app},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": app}},
                     "template": {"metadata": {"labels": {"app": app}}, "spec": {
                         "terminationGracePeriodSeconds": 2, "containers": [container]}}}}


def _service(app: str, port: Object) -> Object:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": app},
            "spec": {"selector": {"app": app}, "ports": [{**port, "targetPort": "web"}]}}


def _backend(service: str) -> Object:
    port = {"name": "http"} if service == "blue" else {"number": 8080}
    return {"service": {"name": service, "port": port}}


def _ingress(name: str, rules: list[Object], **spec: Any) -> Object:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name}, "spec": {"rules": rules, **spec}}


def _rule(host: str, *paths: tuple[str, str, str]) -> Object:
    return {"host": host, "http": {"paths": [
        {"path": path, "pathType": kind, "backend": _backend(service)}
        for path, kind, service in paths]}}


def http_get(cluster: Cluster, host: str, path: str = "/") -> tuple[int, str, dict[str, str]]:
    """One plain-HTTP request to the ingress: (status, body, headers)."""
    with socket.create_connection((cluster.address, cluster.http_port), timeout=10) as sock:
        return _exchange(sock, host, path)


def https_get(cluster: Cluster, host: str, ca_pem: bytes, path: str = "/") -> tuple[str, str]:
    """One HTTPS request with SNI ``host``: (certificate common name, body)."""
    context = ssl.create_default_context(cadata=ca_pem.decode())
    with socket.create_connection((cluster.address, cluster.https_port), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname=host) as sock:
        subject: Any = (sock.getpeercert() or {})["subject"]
        names = [value for entry in subject for key, value in entry if key == "commonName"]
        status, body, _ = _exchange(sock, host, path)
        assert status == 200, body
        return str(names[0]), body


def _exchange(sock: socket.socket, host: str, path: str) -> tuple[int, str, dict[str, str]]:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), body.decode(), headers


def pod_of(body: str) -> str:
    return body.split()[0]


def test_default_class_and_load_balancer_status(cluster: Cluster) -> None:
    klass = json.loads(cluster.server.kubectl("get", "ingressclass", "steersman", "-o",
                                              "json").stdout)
    assert klass["spec"]["controller"] == "steersman.io/ingress"
    assert klass["metadata"]["annotations"][
        "ingressclass.kubernetes.io/is-default-class"] == "true"
    cluster.apply(_ingress("status", [_rule("status.example.com", ("/", "Prefix", "blue"))]))

    def address() -> list[Object]:
        out = cluster.server.kubectl("get", "ingress", "status", "-n", NAMESPACE, "-o", "json")
        return json.loads(out.stdout).get("status", {}).get("loadBalancer", {}).get(
            "ingress") or []

    eventually(lambda: bool(address()), 30, "status.loadBalancer.ingress")
    assert address() == [{"ip": cluster.address, "ports": [
        {"port": cluster.http_port, "protocol": "TCP"},
        {"port": cluster.https_port, "protocol": "TCP"}]}]
    table = cluster.server.kubectl("get", "ingress", "status", "-n", NAMESPACE).stdout
    assert cluster.address in table
    assert http_get(cluster, "status.example.com")[0] == 200
    cluster.server.kubectl("patch", "ingress", "status", "-n", NAMESPACE, "--type=merge",
                           "-p", '{"spec": {"ingressClassName": "someone-else"}}')
    eventually(lambda: not address(), 30, "the address taken back from another class")
    assert http_get(cluster, "status.example.com")[0] == 404


def test_host_and_path_routing_round_robin(cluster: Cluster) -> None:
    cluster.apply(_ingress("routes", [
        _rule("blue.example.com", ("/", "Prefix", "blue")),
        _rule("*.green.example.com", ("/", "Prefix", "green")),
        _rule("paths.example.com", ("/app", "Prefix", "blue"), ("/app/green", "Exact", "green")),
    ]))
    eventually(lambda: http_get(cluster, "blue.example.com")[0] == 200, 30, "the routes")
    blue = {pod_of(http_get(cluster, "blue.example.com", "/x")[1]) for _ in range(4)}
    assert len(blue) == 2 and all(name.startswith("blue-") for name in blue)
    assert pod_of(http_get(cluster, "x.green.example.com")[1]).startswith("green-")
    assert http_get(cluster, "a.b.green.example.com")[0] == 404  # one label only
    assert pod_of(http_get(cluster, "paths.example.com", "/app/green")[1]).startswith("green-")
    assert pod_of(http_get(cluster, "paths.example.com", "/app/green/x")[1]).startswith("blue-")
    assert http_get(cluster, "paths.example.com", "/application")[0] == 404
    status, body, _ = http_get(cluster, "blue.example.com", "/p")
    assert (status, body.split()[1:]) == (200, ["/p", "http"])


def test_default_backend(cluster: Cluster) -> None:
    assert http_get(cluster, "unknown.example.com")[0] == 404
    cluster.apply({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                   "metadata": {"name": "fallback"},
                   "spec": {"defaultBackend": _backend("green")}})
    try:
        eventually(lambda: http_get(cluster, "unknown.example.com")[0] == 200, 30,
                   "the default backend")
        assert pod_of(http_get(cluster, "unknown.example.com", "/z")[1]).startswith("green-")
    finally:
        cluster.server.kubectl("delete", "ingress", "fallback", "-n", NAMESPACE)


def test_routing_follows_an_ingress_change(cluster: Cluster) -> None:
    cluster.apply(_ingress("moving", [_rule("moving.example.com", ("/", "Prefix", "blue"))]))
    eventually(lambda: pod_of(http_get(cluster, "moving.example.com")[1]).startswith("blue-"),
               30, "the first route")
    cluster.apply(_ingress("moving", [_rule("moving.example.com", ("/", "Prefix", "green"))]))
    eventually(lambda: pod_of(http_get(cluster, "moving.example.com")[1]).startswith("green-"),
               30, "the changed route")
    cluster.server.kubectl("scale", "deployment", "green", "-n", NAMESPACE, "--replicas=0")
    try:
        eventually(lambda: http_get(cluster, "moving.example.com")[0] == 503, 30,
                   "503 without ready endpoints")
    finally:
        cluster.server.kubectl("scale", "deployment", "green", "-n", NAMESPACE, "--replicas=1")
        eventually(lambda: _ready_endpoints(cluster, "green") == 1, 60, "green back")


def _tls_secret(cluster: Cluster, name: str, host: str, tmp_path: Path) -> bytes:
    cert, key = self_signed(host, hosts=[host])
    (tmp_path / f"{name}.crt").write_bytes(cert)
    (tmp_path / f"{name}.key").write_bytes(key)
    manifest = cluster.server.kubectl(
        "create", "secret", "tls", name, "-n", NAMESPACE, "--cert", str(tmp_path / f"{name}.crt"),
        "--key", str(tmp_path / f"{name}.key"), "--dry-run=client", "-o", "json").stdout
    cluster.server.kubectl("apply", "-n", NAMESPACE, "-f", "-", input=manifest)
    return cert


def test_https_with_sni_redirect_and_certificate_swap(cluster: Cluster, tmp_path: Path) -> None:
    hosts = {"one": "one.secure.example.com", "two": "two.secure.example.com"}
    certs = {name: _tls_secret(cluster, f"tls-{name}", host, tmp_path)
             for name, host in hosts.items()}
    cluster.apply(_ingress(
        "secure", [_rule(host, ("/", "Prefix", "blue")) for host in hosts.values()],
        tls=[{"hosts": [host], "secretName": f"tls-{name}"} for name, host in hosts.items()]))

    def serves(name: str, cert: bytes) -> bool:
        try:
            return https_get(cluster, hosts[name], cert)[0] == hosts[name]
        except ssl.SSLError:
            return False

    for name in hosts:
        eventually(partial(serves, name, certs[name]), 30, f"the {name} certificate")
        common_name, body = https_get(cluster, hosts[name], certs[name], "/s")
        assert (common_name, body.split()[1:]) == (hosts[name], ["/s", "https"])
    status, _, headers = http_get(cluster, hosts["one"], "/p?q=1")
    assert status == 308
    assert headers["Location"] == f"https://{hosts['one']}:{cluster.https_port}/p?q=1"
    renewed = _tls_secret(cluster, "tls-one", hosts["one"], tmp_path)
    eventually(lambda: serves("one", renewed), 30, "the renewed certificate")
    assert not serves("one", certs["one"])


def test_websocket_and_streamed_response(cluster: Cluster) -> None:
    cluster.apply(_ingress("live", [_rule("live.example.com", ("/", "Prefix", "green"))]))
    eventually(lambda: http_get(cluster, "live.example.com")[0] == 200, 30, "the live route")
    asyncio.run(_websocket_and_stream(cluster))


async def _websocket_and_stream(cluster: Cluster) -> None:
    base = f"http://{cluster.address}:{cluster.http_port}"
    headers = {"Host": "live.example.com"}
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{base}/ws", headers=headers) as ws:
            await ws.send_str("ping")
            reply = await ws.receive_str()
            assert reply.startswith("green-") and reply.endswith(":ping")
        async with session.get(f"{base}/stream", headers=headers) as stream:
            assert stream.headers["Content-Type"] == "text/event-stream"
            assert await stream.content.readuntil(b"\n\n") == b"data: first\n\n"
            async with session.get(f"{base}/release", headers=headers) as release:
                assert release.status == 200
            assert await stream.content.readuntil(b"\n\n") == b"data: second\n\n"


def test_bad_ingress_is_rejected(cluster: Cluster) -> None:
    bad = _ingress("bad", [_rule("bad.example.com", ("relative", "Prefix", "blue"))])
    result = cluster.server.kubectl("apply", "-n", NAMESPACE, "-f", "-",
                                    input=json.dumps(bad), check=False)
    assert result.returncode != 0
    assert "must be an absolute path" in result.stderr



def test_listen_errors_are_clear_and_the_controller_can_be_turned_off(
        cluster: Cluster, tmp_path: Path) -> None:
    base = [sys.executable, "-m", "steersman", "server", "--port", "0", "--data-dir"]
    bad = subprocess.run([*base, str(tmp_path / "bad"), "--ingress-address", "not-an-ip"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 2 and "'not-an-ip' is not an IP address" in bad.stderr
    taken = ["--ingress-address", cluster.address, "--ingress-http-port",
             str(cluster.http_port)]
    clash = subprocess.run([*base, str(tmp_path / "clash"), *taken],
                           capture_output=True, text=True, timeout=60, check=False)
    assert clash.returncode == 1, clash.stderr
    assert (f"cannot listen for ingress on {cluster.address}:{cluster.http_port}: "
            "Address already in use") in clash.stderr
    assert "--no-ingress" in clash.stderr
    server = start_server(tmp_path / "off", "--no-ingress", *taken)
    try:
        assert "ingress (class steersman)" not in server.log_tail()
        classes = server.kubectl("get", "ingressclasses", "-o", "name").stdout
        assert "steersman" not in classes
    finally:
        server.stop()
