"""Core controllers end to end: endpoints, service accounts, node lifecycle, disruption.

The server runs every controller; nothing runs pods yet, so tests make pods Running and
Ready by writing their status, and stand in for kubelets by creating Nodes and Leases. The
node-lifecycle test runs a second, in-test node-lifecycle controller with a 2 s grace
period (the server's waits 40 s); eviction is the server's taint-eviction controller.
Waits poll with a deadline; nothing sleeps and then asserts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import pytest
import yaml

from steersman.api.errors import StatusError
from steersman.api.meta import micro_time, now_rfc3339, parse_time
from steersman.client import LEASES, NODES, PDBS, PODS, REPLICASETS, Client, load_kubeconfig
from steersman.controllers.nodelifecycle import NodeLifecycleController
from steersman.controllers.runtime import InformerFactory
from tests.e2e.harness import ServerProcess

Object = dict[str, Any]
T = TypeVar("T")
UNREACHABLE = "node.kubernetes.io/unreachable"
HTTP_PORT = [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]


def poll(check: Callable[[], T | None], *, timeout: float = 20.0, what: str = "") -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result is not None and result is not False:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.2)


async def apoll(check: Callable[[], Awaitable[T | None]], *, timeout: float = 20.0,
                what: str = "") -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result is not None and result is not False:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def get_json(server: ServerProcess, *args: str) -> Object | None:
    result = server.kubectl("get", *args, "-o", "json", check=False)
    return json.loads(result.stdout) if result.returncode == 0 else None


def pod_manifest(name: str, namespace: str, *, labels: dict[str, str] | None = None,
                 node: str = "", tolerations: list[Object] | None = None) -> Object:
    spec: Object = {"containers": [{"name": "c", "image": "busybox", "ports": HTTP_PORT}]}
    if node:
        spec["nodeName"] = node
    if tolerations:
        spec["tolerations"] = tolerations
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace,
                         "labels": labels or {"app": "web"}}, "spec": spec}


def running_status(ip: str, *, ready: bool = True) -> Object:
    return {"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                       "conditions": [{"type": "Ready", "status": str(ready)}]}}


def set_status(server: ServerProcess, namespace: str, pod: str, status: Object) -> None:
    server.kubectl("patch", "pod", pod, "-n", namespace, "--subresource=status",
                   "--type=merge", "-p", json.dumps(status))


# ---- endpoints and endpoint slices ---------------------------------------------------------

def test_service_gets_endpoint_slices_and_endpoints(server: ServerProcess, namespace: str) -> None:
    server.kubectl("apply", "-f", "-", input=yaml.safe_dump_all([
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web",
                                                             "namespace": namespace},
         "spec": {"selector": {"app": "web"},
                  "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}},
        pod_manifest("web-a", namespace), pod_manifest("web-b", namespace),
        pod_manifest("other", namespace, labels={"app": "db"})]))
    set_status(server, namespace, "web-a", running_status("127.42.0.11"))
    set_status(server, namespace, "web-b", running_status("127.42.0.12"))
    set_status(server, namespace, "other", running_status("127.42.0.13"))

    def slice_endpoints() -> dict[str, bool] | None:
        found = get_json(server, "endpointslices", "-n", namespace,
                         "-l", "kubernetes.io/service-name=web")
        items = (found or {}).get("items") or []
        if len(items) != 1 or items[0].get("ports") != [
                {"name": "http", "port": 8080, "protocol": "TCP"}]:
            return None
        return {e["addresses"][0]: e["conditions"]["ready"] for e in items[0]["endpoints"]}

    assert poll(lambda: slice_endpoints() == {"127.42.0.11": True, "127.42.0.12": True},
                what="a slice with both ready pods")
    [only] = get_json(server, "endpointslices", "-n", namespace,
                      "-l", "kubernetes.io/service-name=web")["items"]  # type: ignore[index]
    assert only["metadata"]["name"].startswith("web-")
    assert only["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == (
        "endpointslice-controller.k8s.io")
    assert only["metadata"]["ownerReferences"][0]["kind"] == "Service"

    def subsets() -> list[Object] | None:
        found = get_json(server, "endpoints", "web", "-n", namespace)
        return (found or {}).get("subsets")

    assert poll(lambda: [[a["ip"] for a in s.get("addresses", [])] for s in subsets() or []]
                == [["127.42.0.11", "127.42.0.12"]], what="ready Endpoints addresses")
    assert (subsets() or [{}])[0]["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]

    set_status(server, namespace, "web-b", running_status("127.42.0.12", ready=False))
    assert poll(lambda: slice_endpoints() == {"127.42.0.11": True, "127.42.0.12": False},
                what="web-b not ready in the slice")
    assert poll(lambda: [[a["ip"] for a in s.get("notReadyAddresses", [])]
                         for s in subsets() or []] == [["127.42.0.12"]],
                what="web-b in notReadyAddresses")


def test_api_server_endpoints_are_left_alone(server: ServerProcess) -> None:
    endpoints = get_json(server, "endpoints", "kubernetes", "-n", "default")
    assert endpoints is not None
    assert endpoints["metadata"]["labels"] == {"endpointslice.kubernetes.io/skip-mirror": "true"}


# ---- service accounts ------------------------------------------------------------------------

def test_new_namespace_gets_default_service_account(server: ServerProcess) -> None:
    name = f"sa-{uuid.uuid4().hex[:8]}"
    server.kubectl("create", "namespace", name)
    poll(lambda: get_json(server, "serviceaccount", "default", "-n", name), timeout=10,
         what="the default ServiceAccount")
    server.kubectl("delete", "serviceaccount", "default", "-n", name)
    poll(lambda: get_json(server, "serviceaccount", "default", "-n", name), timeout=10,
         what="the default ServiceAccount to come back")


# ---- node lifecycle ----------------------------------------------------------------------------

@pytest.fixture
async def client(server: ServerProcess) -> AsyncIterator[Client]:
    async with Client(load_kubeconfig(server.kubeconfig)) as api:
        yield api


async def create_node(client: Client, name: str) -> None:
    """A Node that posted Ready, and its Lease renewed now (a kubelet's first heartbeat)."""
    node = await client.create(NODES, {"apiVersion": "v1", "kind": "Node",
                                       "metadata": {"name": name}})
    now = now_rfc3339(time.time())
    node["status"] = {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                      "lastHeartbeatTime": now, "lastTransitionTime": now}]}
    await client.update_status(NODES, node)
    await renew_lease(client, name)


async def renew_lease(client: Client, name: str) -> None:
    spec = {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": micro_time(
        time.time())}
    try:
        lease = await client.get(LEASES, name, namespace="kube-node-lease")
    except StatusError:
        await client.create(LEASES, {"metadata": {"name": name,
                                                  "namespace": "kube-node-lease"},
                                     "spec": spec})
        return
    await client.update(LEASES, {**lease, "spec": spec})


async def create_running_pod(client: Client, manifest: Object, ip: str) -> Object:
    pod = await client.create(PODS, manifest)
    pod.update(running_status(ip))
    return await client.update_status(PODS, pod)


@contextlib.asynccontextmanager
async def node_lifecycle(client: Client, grace_period: float) -> AsyncIterator[None]:
    factory = InformerFactory(client)
    controller = NodeLifecycleController(client, grace_period=grace_period)
    controller.setup(factory)
    factory.start()
    await factory.wait_synced()
    task = asyncio.create_task(controller.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await factory.stop()


def evicted(pod: Object | None) -> bool:
    return pod is None or bool(pod["metadata"].get("deletionTimestamp"))


async def get_or_none(client: Client, namespace: str, name: str) -> Object | None:
    try:
        return await client.get(PODS, name, namespace=namespace)
    except StatusError as err:
        if err.code == 404:
            return None
        raise


async def test_lost_node_is_tainted_and_its_pods_evicted(client: Client, namespace: str) -> None:
    node = f"lost-{uuid.uuid4().hex[:6]}"
    await create_node(client, node)
    now_gone = [{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
                 "tolerationSeconds": 0}]
    brief = [{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
              "tolerationSeconds": 2}]
    await create_running_pod(client, pod_manifest("intolerant", namespace, node=node,
                                                  tolerations=now_gone), "127.42.1.1")
    await create_running_pod(client, pod_manifest("brief", namespace, node=node,
                                                  tolerations=brief), "127.42.1.2")
    patient = await create_running_pod(client, pod_manifest("patient", namespace, node=node),
                                       "127.42.1.3")
    assert {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
            "tolerationSeconds": 300} in patient["spec"]["tolerations"]

    async with node_lifecycle(client, grace_period=2.0):
        async def unreachable() -> Object | None:
            found = await client.get(NODES, node)
            keys = {(t["key"], t["effect"]) for t in (found.get("spec") or {}).get("taints") or []}
            return found if {(UNREACHABLE, "NoExecute"), (UNREACHABLE, "NoSchedule")} <= keys \
                else None

        tainted = await apoll(unreachable, what="the unreachable taints")
        ready = next(c for c in tainted["status"]["conditions"] if c["type"] == "Ready")
        assert (ready["status"], ready["reason"], ready["message"]) == (
            "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
        added = next(parse_time(t["timeAdded"]).timestamp()
                     for t in tainted["spec"]["taints"] if t["effect"] == "NoExecute")

        async def gone(name: str) -> bool:
            return evicted(await get_or_none(client, namespace, name))

        await apoll(lambda: gone("intolerant"), timeout=10, what="the intolerant pod evicted")
        await apoll(lambda: gone("brief"), timeout=10, what="the pod tolerating 2 s evicted")
        assert time.time() >= added + 2 - 0.5
        kept = await get_or_none(client, namespace, "patient")
        assert kept is not None and not evicted(kept)

        async def marked_not_ready() -> bool:
            pod = await get_or_none(client, namespace, "patient")
            conditions = ((pod or {}).get("status") or {}).get("conditions") or []
            return any(c["type"] == "Ready" and c["status"] == "False" for c in conditions)

        await apoll(marked_not_ready, timeout=10, what="the kept pod marked not ready")


# ---- disruption budgets and drain --------------------------------------------------------------

async def keep_renewing(client: Client, node: str) -> None:
    while True:
        await asyncio.sleep(5)
        await renew_lease(client, node)


async def pdb_status(client: Client, namespace: str, want: Object) -> Object | None:
    pdb = await client.get(PDBS, "web", namespace=namespace)
    status = pdb.get("status") or {}
    current = {key: status.get(key) for key in want}
    fresh = status.get("observedGeneration") == pdb["metadata"].get("generation")
    return status if fresh and current == want else None


async def test_budget_status_and_drain(server: ServerProcess, client: Client,
                                       namespace: str) -> None:
    node = f"drain-{uuid.uuid4().hex[:6]}"
    await create_node(client, node)
    renewer = asyncio.create_task(keep_renewing(client, node))
    try:
        await _budget_and_drain(server, client, namespace, node)
    finally:
        renewer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewer


async def _budget_and_drain(server: ServerProcess, client: Client, namespace: str,
                            node: str) -> None:
    for index in range(3):
        await create_running_pod(client, pod_manifest(f"web-{index}", namespace, node=node),
                                 f"127.42.2.{index + 1}")
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
        {"name": "c", "image": "busybox"}]}}
    await client.create(REPLICASETS, {
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                 "template": template}})
    await client.create(PDBS, {"metadata": {"name": "web", "namespace": namespace},
                               "spec": {"maxUnavailable": 1,
                                        "selector": {"matchLabels": {"app": "web"}}}})
    want = {"currentHealthy": 3, "desiredHealthy": 2, "expectedPods": 3,
            "disruptionsAllowed": 1}
    status = await apoll(lambda: pdb_status(client, namespace, want),
                         what="the budget's status from the ReplicaSet's scale")
    [condition] = status["conditions"]
    assert (condition["type"], condition["status"], condition["reason"]) == (
        "DisruptionAllowed", "True", "SufficientPods")

    drain = ("drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--force",
             "--grace-period=0", "--timeout=20s")
    blocked = await asyncio.to_thread(server.kubectl, *drain, check=False, timeout=60)
    assert blocked.returncode != 0, blocked.stdout
    output = blocked.stdout + blocked.stderr
    assert "Cannot evict pod as it would violate the pod's disruption budget" in output, output
    remaining = (await client.list(PODS, namespace=namespace,
                                   field_selector=f"spec.nodeName={node}"))["items"]
    assert len(remaining) == 2, [p["metadata"]["name"] for p in remaining]

    pdb = await client.get(PDBS, "web", namespace=namespace)
    pdb["spec"]["maxUnavailable"] = 3
    await client.update(PDBS, pdb)
    await apoll(lambda: pdb_status(client, namespace, {"desiredHealthy": 0}),
                what="the loosened budget's status")
    drained = await asyncio.to_thread(server.kubectl, *drain, check=False, timeout=60)
    assert drained.returncode == 0, drained.stdout + drained.stderr
    assert f"node/{node} drained" in drained.stdout
