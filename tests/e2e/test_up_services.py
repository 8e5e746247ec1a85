"""Services on `steersman up --nodes 2`: the userspace proxy and load-balancer addresses.

One cluster for the module (process runtime, its own load-balancer pool of two addresses):
a Deployment of three tiny HTTP servers that answer with their pod name, bound to
``$(POD_IP)``, behind a ClusterIP, a NodePort and a LoadBalancer Service, driven with the
real kubectl and the kubernetes Python client, and reached over real sockets.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from steersman.kubelet.runtime.registry import new_runtime
from tests.tools import need_tool

NS = "svc"
REPLICAS = 3
SERVER = """
import http.server, os, pathlib
name, flag = os.environ["POD_NAME"], pathlib.Path(os.environ["FLAGS"]) / os.environ["POD_NAME"]
flag.touch()
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/env":
            body = f"{os.environ.get('WEB_SERVICE_HOST')}:{os.environ.get('WEB_SERVICE_PORT')}"
        elif self.path == "/healthz" and not flag.exists():
            self.send_error(503)
            return
        else:
            body = name
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer((os.environ["POD_IP"], 8080), Handler).serve_forever()
"""


@dataclass
class Cluster:
    data_dir: Path
    flags: Path
    pool: str
    process: subprocess.Popen[bytes]
    log: Path

    def kubectl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "KUBECONFIG": str(self.data_dir / "admin.kubeconfig")}
        result = subprocess.run([need_tool("kubectl"), "--cache-dir", str(self.data_dir / "kc"),
                                 "-n", NS, *args], capture_output=True, text=True, timeout=60,
                                env=env, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)}: {result.stderr}\n"
                                 f"{self.log.read_text(errors='replace')[-3000:]}")
        return result

    def apply(self, manifest: object) -> None:
        env = {**os.environ, "KUBECONFIG": str(self.data_dir / "admin.kubeconfig")}
        subprocess.run([need_tool("kubectl"), "--cache-dir", str(self.data_dir / "kc"), "-n", NS,
                        "apply", "-f", "-"], input=json.dumps(manifest), text=True, check=True,
                       capture_output=True, timeout=60, env=env)

    def json(self, *args: str) -> Any:
        return json.loads(self.kubectl(*args, "-o", "json").stdout)

    def service(self, name: str) -> Any:
        return self.json("get", "service", name)


def wait(condition: Callable[[], object], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} not reached within {timeout}s"
        time.sleep(0.2)


def get(host: str, port: int, path: str = "/") -> str:
    with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=10) as response:
        return str(response.read().decode())


def answers(host: str, port: int, count: int) -> list[str]:
    """``count`` requests, each on a new connection."""
    return [get(host, port) for _ in range(count)]


def manifests(flags: Path) -> dict[str, Any]:
    env = [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
           {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
           {"name": "FLAGS", "value": str(flags)}]
    container = {"name": "web", "image": "python:3", "command": [sys.executable, "-c", SERVER],
                 "env": env, "ports": [{"containerPort": 8080, "name": "http"}],
                 "volumeMounts": [{"name": "flags", "mountPath": str(flags)}],
                 "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080},
                                    "periodSeconds": 1, "failureThreshold": 1}}
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": REPLICAS, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                     "containers": [container], "terminationGracePeriodSeconds": 1,
                     "volumes": [{"name": "flags", "hostPath": {"path": str(flags)}}]}}}}
    services = [_service("web", "ClusterIP", 80), _service("web-np", "NodePort", 80),
                _service("web-lb", "LoadBalancer", 8081)]
    return {"apiVersion": "v1", "kind": "List", "items": [*services, deployment]}


def _service(name: str, kind: str, port: int, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"type": kind, "selector": {"app": "web"},
                     "ports": [{"name": "http", "port": port, "targetPort": "http"}], **spec}}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    need_tool("kubectl", "the end-to-end tests drive the real kubectl")
    base = tmp_path_factory.mktemp("services")
    data_dir, flags, log = base / "cluster", base / "flags", base / "up.log"
    flags.mkdir()
    pool = f"127.44.{random.randrange(1, 255)}.0/30"  # two addresses: .1 and .2
    name = f"s{uuid.uuid4().hex[:6]}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "steersman", "up", "--port", "0", "--data-dir", str(data_dir),
             "--name", name, "--nodes", "2", "--lb-pool", pool],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    cluster = Cluster(data_dir, flags, pool, process, log)
    try:
        try:
            wait(lambda: "export KUBECONFIG=" in log.read_text(), "the export line")
        except AssertionError as err:
            raise AssertionError(f"{err}:\n{log.read_text(errors='replace')[-3000:]}") from err
        cluster.kubectl("create", "namespace", NS)
        cluster.apply(manifests(flags))
        _wait_available(cluster)
        yield cluster
    finally:
        _stop(process)
        for node in (f"{name}-node-0", f"{name}-node-1"):
            asyncio.run(_remove_containers(data_dir / "nodes" / node / "runtime"))


def _wait_available(cluster: Cluster) -> None:
    def available() -> bool:
        status = cluster.json("get", "deployment", "web").get("status") or {}
        return status.get("availableReplicas") == REPLICAS

    try:
        wait(available, "3 available replicas", timeout=120)
    except AssertionError as err:
        pods = cluster.kubectl("get", "pods", "-o", "wide", check=False).stdout
        raise AssertionError(f"{err}:\n{pods}\n{cluster.log.read_text(errors='replace')[-3000:]}"
                             ) from err


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


async def _remove_containers(state_dir: Path) -> None:
    runtime = new_runtime("process", state_dir=state_dir)
    for sandbox in await runtime.list_sandboxes():
        await runtime.remove_sandbox(sandbox.id)


def pod_names(cluster: Cluster) -> set[str]:
    pods = cluster.json("get", "pods", "-l", "app=web")["items"]
    return {p["metadata"]["name"] for p in pods if not p["metadata"].get("deletionTimestamp")}


def node_ips(cluster: Cluster) -> list[str]:
    nodes = cluster.json("get", "nodes")["items"]
    return [a["address"] for n in nodes for a in n["status"]["addresses"]
            if a["type"] == "InternalIP"]


def lb_ip(cluster: Cluster, name: str) -> str:
    ingress = (cluster.service(name).get("status", {}).get("loadBalancer") or {}).get("ingress")
    return str(ingress[0]["ip"]) if ingress else ""


def test_every_service_type_spreads_over_all_pods(cluster: Cluster) -> None:
    pods = pod_names(cluster)
    assert len(pods) == REPLICAS
    web = cluster.service("web")
    assert set(answers(web["spec"]["clusterIP"], 80, 9)) == pods
    node_port = cluster.service("web-np")["spec"]["ports"][0]["nodePort"]
    ips = node_ips(cluster)
    assert len(ips) == 2 and all(ip.startswith("127.42.") for ip in ips)
    for host in [*ips, "127.0.0.1"]:
        assert set(answers(host, node_port, 9)) == pods, host
    address = wait(lambda: lb_ip(cluster, "web-lb"), "a load-balancer address")
    assert address == cluster.pool.replace(".0/30", ".1")
    wait(lambda: not _refused(address, 8081), "the address served")
    assert set(answers(address, 8081, 9)) == pods
    table = cluster.kubectl("get", "service", "web-lb").stdout
    assert address in table and "8081:" in table


def test_external_traffic_policy_local_keeps_traffic_on_the_node(cluster: Cluster) -> None:
    cluster.apply(_service("web-local", "NodePort", 80, externalTrafficPolicy="Local"))
    node_port = cluster.service("web-local")["spec"]["ports"][0]["nodePort"]
    pods = cluster.json("get", "pods", "-l", "app=web")["items"]
    for node in cluster.json("get", "nodes")["items"]:
        ip = next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
        local = {p["metadata"]["name"] for p in pods
                 if p["spec"]["nodeName"] == node["metadata"]["name"]}
        if not local:  # nothing to serve: the node does not listen, the kernel refuses
            wait(lambda ip=ip: _refused(ip, node_port), "no listener on a node without pods")
            continue
        wait(lambda ip=ip: not _refused(ip, node_port), "the node port served")
        assert set(answers(ip, node_port, 6)) == local, node["metadata"]["name"]
    assert _refused("127.0.0.1", node_port)  # which node would answer there is arbitrary


def test_pods_see_service_environment_variables(cluster: Cluster) -> None:
    web = cluster.service("web")
    assert get(web["spec"]["clusterIP"], 80, "/env") == f"{web['spec']['clusterIP']}:80"


def test_unready_pod_stops_getting_traffic(cluster: Cluster) -> None:
    cluster_ip = cluster.service("web")["spec"]["clusterIP"]
    victim = sorted(pod_names(cluster))[0]
    (cluster.flags / victim).unlink()
    try:
        wait(lambda: victim not in answers(cluster_ip, 80, 6), "the unready pod left out")
        seen = answers(cluster_ip, 80, 8)
        assert victim not in seen and set(seen) == pod_names(cluster) - {victim}
    finally:
        (cluster.flags / victim).touch()
    wait(lambda: victim in answers(cluster_ip, 80, 6), "the pod back in rotation")


def test_load_balancer_addresses_are_assigned_released_and_exhausted(cluster: Cluster) -> None:
    api = config.new_client_from_config(config_file=str(cluster.data_dir / "admin.kubeconfig"))
    core = client.CoreV1Api(api)
    try:
        core.create_namespaced_service(NS, _service("lb-b", "LoadBalancer", 8082))  # type: ignore[arg-type]
        second = wait(lambda: lb_ip(cluster, "lb-b"), "the second address")
        assert second == cluster.pool.replace(".0/30", ".2")
        wait(lambda: not _refused(second, 8082), "the new address served")
        assert set(answers(second, 8082, 6)) == pod_names(cluster)
        core.create_namespaced_service(NS, _service("lb-c", "LoadBalancer", 8083))  # type: ignore[arg-type]
        events = wait(lambda: _events(cluster, "lb-c", "SyncLoadBalancerFailed"),
                      "the exhaustion warning")
        assert f"no free address in the load-balancer pool {cluster.pool}" in events[0]
        assert "<pending>" in cluster.kubectl("get", "service", "lb-c").stdout
        # kubectl, not the Python client: steersman answers a Service DELETE with a Status,
        # where upstream returns the deleted Service (ReturnDeletedObject), and the client
        # fails to decode it.
        cluster.kubectl("delete", "service", "lb-b")
        assert wait(lambda: lb_ip(cluster, "lb-c"), "the released address reused") == second
        status = core.read_namespaced_service("lb-c", NS).to_dict()["status"]
        assert status["load_balancer"]["ingress"][0]["ip"] == second
        # Upstream drops the type-dependent fields itself (dropTypeDependentFields);
        # steersman wants them cleared in the patch.
        cluster.kubectl("patch", "service", "lb-c", "-p",
                        '{"spec":{"type":"ClusterIP","externalTrafficPolicy":null,'
                        '"ports":[{"name":"http","port":8083,"targetPort":"http",'
                        '"nodePort":null}]}}')
        wait(lambda: not lb_ip(cluster, "lb-c"), "the address released on type change")
        wait(lambda: _refused(second, 8083), "the released address no longer served")
    finally:
        api.close()


def test_port_that_cannot_be_bound_is_a_warning_event(cluster: Cluster) -> None:
    node_ip = node_ips(cluster)[0]
    taken = cluster.service("web-np")["spec"]["ports"][0]["nodePort"]
    holder, port = _hold_node_port(node_ip, avoid=taken)
    try:
        spec = {"ports": [{"name": "http", "port": 80, "targetPort": "http", "nodePort": port}]}
        cluster.apply(_service("held", "NodePort", 80, **spec))
        events = wait(lambda: _events(cluster, "held", "FailedToBindServicePort"),
                      "the bind warning")
        assert any(f"{node_ip}:{port}/TCP" in e and "in use" in e for e in events), events
    finally:
        holder.close()
    # Failed frontends are retried: once the port is free the node serves it.
    wait(lambda: not _refused(node_ip, port), "the freed port served")
    assert get(node_ip, port) in pod_names(cluster)


def _hold_node_port(host: str, *, avoid: int) -> tuple[socket.socket, int]:
    """A plain socket listening on a free port of the NodePort range (not ``avoid``)."""
    for port in random.sample(range(30000, 32768), 50):
        holder = socket.socket()
        try:
            holder.bind((host, port))
        except OSError:
            holder.close()
            continue
        if port != avoid:
            holder.listen()
            return holder, port
        holder.close()
    raise AssertionError("no free port in the NodePort range")


def _events(cluster: Cluster, name: str, reason: str) -> list[str]:
    items = cluster.json("get", "events", "--field-selector",
                         f"involvedObject.name={name}")["items"]
    return [str(e["message"]) for e in items
            if e.get("type") == "Warning" and e.get("reason") == reason]


def _refused(host: str, port: int) -> bool:
    try:
        get(host, port)
    except (ConnectionError, urllib.error.URLError):
        return True
    return False


def _host_port_pod(cluster: Cluster, name: str, host_port: int, **spec: Any) -> dict[str, Any]:
    container = dict(manifests(cluster.flags)["items"][-1]["spec"]["template"]["spec"][
        "containers"][0])
    container["ports"] = [{"containerPort": 8080, "hostPort": host_port}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [container], "terminationGracePeriodSeconds": 1,
                     "volumes": [{"name": "flags", "hostPath": {"path": str(cluster.flags)}}],
                     **spec}}


def _free_on(hosts: list[str]) -> int:
    """A port no socket holds on any of ``hosts``."""
    for port in random.sample(range(40000, 50000), 50):
        try:
            for host in hosts:
                with socket.socket() as probe:
                    probe.bind((host, port))
        except OSError:
            continue
        return port
    raise AssertionError("no free port")


def _waiting(cluster: Cluster, name: str) -> dict[str, Any]:
    statuses = (cluster.json("get", "pod", name).get("status") or {}).get(
        "containerStatuses") or [{}]
    return dict((statuses[0].get("state") or {}).get("waiting") or {})


def test_host_port_is_served_on_each_node_address(cluster: Cluster) -> None:
    ips = {n["metadata"]["name"]: a["address"] for n in cluster.json("get", "nodes")["items"]
           for a in n["status"]["addresses"] if a["type"] == "InternalIP"}
    port = _free_on(list(ips.values()))
    # Two pods asking for one host port: the scheduler (NodePorts) puts them on both nodes.
    for name in ("hp-a", "hp-b"):
        cluster.apply(_host_port_pod(cluster, name, port))
    wait(lambda: all(cluster.json("get", "pod", n)["status"].get("podIP") and any(
        c.get("ready") for c in cluster.json("get", "pod", n)["status"].get(
            "containerStatuses") or ()) for n in ("hp-a", "hp-b")), "both host-port pods ready")
    placed = {cluster.json("get", "pod", n)["spec"]["nodeName"]: n for n in ("hp-a", "hp-b")}
    assert sorted(placed) == sorted(ips), placed
    for node, pod in placed.items():
        assert get(ips[node], port) == pod  # node address:hostPort → that node's pod

    # A host port held by another process: the pod waits with a clear reason.
    node = sorted(ips)[0]
    held = _free_on([ips[node]])
    with socket.socket() as holder:
        holder.bind((ips[node], held))
        holder.listen()
        cluster.apply(_host_port_pod(cluster, "hp-held", held, nodeName=node))
        waiting = wait(lambda: _waiting(cluster, "hp-held").get("reason") ==
                       "HostPortUnavailable" and _waiting(cluster, "hp-held"), "the reason")
        assert f"{ips[node]}:{held}: Address already in use" in waiting["message"], waiting

    cluster.kubectl("delete", "pod", "hp-a", "hp-b", "hp-held", "--wait=true",
                    "--timeout=60s")
    for node, _pod in placed.items():  # the relays went with the pods
        assert _refused(ips[node], port)
