"""Deployments, ReplicaSets and ReplicationControllers end to end, driven by the real kubectl.

Nothing runs pods in these servers, so :class:`PodReadiness` stands in for the node agent:
it watches the test's namespace, marks every new pod Running and Ready with a pod IP, and
records the order of pod events (the Recreate test reads it).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from steersman.client import PODS, Client, load_kubeconfig
from tests.e2e.harness import ServerProcess

Object = dict[str, Any]


def eventually(check: Callable[[], bool], timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what or check}")


class PodReadiness:
    """A thread that makes every pod of one namespace Running and Ready, and logs events."""

    def __init__(self, server: ServerProcess, namespace: str) -> None:
        self._server = server
        self._namespace = namespace
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True)
        self.events: list[tuple[str, str, str]] = []  # (type, pod name, pod-template-hash)
        self._next_ip = 1

    def __enter__(self) -> PodReadiness:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _main(self) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        async with Client(load_kubeconfig(self._server.kubeconfig)) as client:
            task = asyncio.create_task(self._watch(client))
            await asyncio.to_thread(self._stop.wait)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _watch(self, client: Client) -> None:
        version = ""
        while True:
            async with client.watch(PODS, namespace=self._namespace, resource_version=version,
                                    timeout_seconds=60) as stream:
                async for kind, pod in stream:
                    version = stream.resource_version
                    await self._seen(client, kind, pod)

    async def _seen(self, client: Client, kind: str, pod: Object) -> None:
        meta = pod["metadata"]
        self.events.append((kind, meta["name"],
                            (meta.get("labels") or {}).get("pod-template-hash", "")))
        ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                    for c in (pod.get("status") or {}).get("conditions") or [])
        if kind == "DELETED" or ready or meta.get("deletionTimestamp"):
            return
        await client.patch(PODS, meta["name"], {"status": self._ready_status(pod)},
                           namespace=self._namespace, subresource="status")

    def _ready_status(self, pod: Object) -> Object:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        ip = f"127.42.0.{self._next_ip}"
        self._next_ip = self._next_ip % 250 + 1
        containers = pod["spec"]["containers"]
        return {
            "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "startTime": now,
            "conditions": [{"type": kind, "status": "True", "lastTransitionTime": now}
                           for kind in ("Initialized", "ContainersReady", "PodScheduled",
                                        "Ready")],
            "containerStatuses": [
                {"name": c["name"], "image": c["image"], "imageID": "", "ready": True,
                 "started": True, "restartCount": 0, "state": {"running": {"startedAt": now}}}
                for c in containers],
        }


@pytest.fixture
def readiness(server: ServerProcess, namespace: str) -> Iterator[PodReadiness]:
    with PodReadiness(server, namespace) as helper:
        yield helper


def get_json(server: ServerProcess, namespace: str, *what: str) -> Object:
    out = server.kubectl("-n", namespace, "get", *what, "-o", "json").stdout
    return yaml.safe_load(out)  # type: ignore[no-any-return]


def live_pods(server: ServerProcess, namespace: str, selector: str) -> list[Object]:
    pods = get_json(server, namespace, "pods", "-l", selector)["items"]
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")]


def replica_sets(server: ServerProcess, namespace: str, selector: str) -> list[Object]:
    items: list[Object] = get_json(server, namespace, "rs", "-l", selector)["items"]
    return items


def rollout_status(server: ServerProcess, namespace: str, name: str) -> str:
    return server.kubectl("-n", namespace, "rollout", "status", f"deploy/{name}",
                          "--timeout=90s", timeout=120).stdout


def pod_images(server: ServerProcess, namespace: str, selector: str) -> set[str]:
    return {c["image"] for p in live_pods(server, namespace, selector)
            for c in p["spec"]["containers"]}


def test_create_deployment_comes_up(server: ServerProcess, namespace: str,
                                    readiness: PodReadiness) -> None:
    server.kubectl("-n", namespace, "create", "deployment", "web", "--image=nginx",
                   "--replicas=3")
    assert "successfully rolled out" in rollout_status(server, namespace, "web")
    eventually(lambda: len(live_pods(server, namespace, "app=web")) == 3, what="3 pods")
    row = server.kubectl("-n", namespace, "get", "deploy", "web", "--no-headers").stdout.split()
    assert row[1:4] == ["3/3", "3", "3"], row
    rs = replica_sets(server, namespace, "app=web")
    assert len(rs) == 1
    pod_hash = rs[0]["metadata"]["labels"]["pod-template-hash"]
    assert rs[0]["metadata"]["name"] == f"web-{pod_hash}"
    assert rs[0]["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    deployment = get_json(server, namespace, "deploy", "web")
    conditions = {c["type"]: c["reason"] for c in deployment["status"]["conditions"]}
    assert conditions == {"Available": "MinimumReplicasAvailable",
                          "Progressing": "NewReplicaSetAvailable"}


def test_set_image_history_undo_restart(server: ServerProcess, namespace: str,
                                        readiness: PodReadiness) -> None:
    server.kubectl("-n", namespace, "create", "deployment", "web", "--image=nginx",
                   "--replicas=3")
    rollout_status(server, namespace, "web")
    server.kubectl("-n", namespace, "set", "image", "deploy/web", "nginx=nginx:1.27")
    assert "successfully rolled out" in rollout_status(server, namespace, "web")
    sizes = {rs["spec"]["template"]["spec"]["containers"][0]["image"]: rs["spec"]["replicas"]
             for rs in replica_sets(server, namespace, "app=web")}
    assert sizes == {"nginx": 0, "nginx:1.27": 3}
    eventually(lambda: pod_images(server, namespace, "app=web") == {"nginx:1.27"},
               what="every pod on nginx:1.27")
    history = server.kubectl("-n", namespace, "rollout", "history", "deploy/web").stdout
    assert [line.split()[0] for line in history.splitlines()
            if line[:1].isdigit()] == ["1", "2"], history

    server.kubectl("-n", namespace, "rollout", "undo", "deploy/web")
    rollout_status(server, namespace, "web")
    eventually(lambda: pod_images(server, namespace, "app=web") == {"nginx"},
               what="every pod back on nginx")
    assert len(replica_sets(server, namespace, "app=web")) == 2  # the old one was reused

    server.kubectl("-n", namespace, "rollout", "restart", "deploy/web")
    rollout_status(server, namespace, "web")
    revisions = sorted(int(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"])
                       for rs in replica_sets(server, namespace, "app=web"))
    assert revisions == [2, 3, 4]


def test_pause_holds_rollout_until_resume(server: ServerProcess, namespace: str,
                                          readiness: PodReadiness) -> None:
    server.kubectl("-n", namespace, "create", "deployment", "web", "--image=nginx",
                   "--replicas=2")
    rollout_status(server, namespace, "web")
    server.kubectl("-n", namespace, "rollout", "pause", "deploy/web")
    server.kubectl("-n", namespace, "set", "image", "deploy/web", "nginx=nginx:1.27")
    eventually(lambda: _progressing_reason(server, namespace) == "DeploymentPaused",
               what="the paused condition")
    time.sleep(1.0)
    assert len(replica_sets(server, namespace, "app=web")) == 1
    server.kubectl("-n", namespace, "rollout", "resume", "deploy/web")
    assert "successfully rolled out" in rollout_status(server, namespace, "web")
    assert len(replica_sets(server, namespace, "app=web")) == 2


def _progressing_reason(server: ServerProcess, namespace: str) -> str:
    status = get_json(server, namespace, "deploy", "web").get("status") or {}
    return next((c["reason"] for c in status.get("conditions") or []
                 if c["type"] == "Progressing"), "")


def test_scale_deployment_mid_flight(server: ServerProcess, namespace: str,
                                     readiness: PodReadiness) -> None:
    server.kubectl("-n", namespace, "create", "deployment", "web", "--image=nginx",
                   "--replicas=2")
    rollout_status(server, namespace, "web")
    server.kubectl("-n", namespace, "scale", "deploy/web", "--replicas=5")
    rollout_status(server, namespace, "web")
    eventually(lambda: len(live_pods(server, namespace, "app=web")) == 5, what="5 pods")
    row = server.kubectl("-n", namespace, "get", "deploy", "web", "--no-headers").stdout.split()
    assert row[1:4] == ["5/5", "5", "5"], row


RS_YAML = """
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: fe}
spec:
  replicas: 3
  selector: {matchLabels: {app: fe}}
  template:
    metadata: {labels: {app: fe}}
    spec: {containers: [{name: c, image: nginx}]}
"""

ORPHAN_YAML = """
apiVersion: v1
kind: Pod
metadata: {name: stray, labels: {app: fe}}
spec: {containers: [{name: c, image: nginx}]}
"""


def test_replica_set_adopts_scales_and_replaces(server: ServerProcess, namespace: str,
                                                readiness: PodReadiness) -> None:
    server.kubectl("-n", namespace, "create", "-f", "-", input=ORPHAN_YAML)
    server.kubectl("-n", namespace, "create", "-f", "-", input=RS_YAML)
    eventually(lambda: len(live_pods(server, namespace, "app=fe")) == 3, what="3 pods")
    time.sleep(0.5)
    pods = live_pods(server, namespace, "app=fe")
    assert len(pods) == 3
    assert "stray" in {p["metadata"]["name"] for p in pods}  # adopted, not duplicated
    assert all(p["metadata"]["ownerReferences"][0]["name"] == "fe" for p in pods)

    server.kubectl("-n", namespace, "scale", "rs/fe", "--replicas=5")
    eventually(lambda: len(live_pods(server, namespace, "app=fe")) == 5, what="5 pods")
    server.kubectl("-n", namespace, "scale", "rs/fe", "--replicas=2")
    eventually(lambda: len(live_pods(server, namespace, "app=fe")) == 2, what="2 pods")

    victim = live_pods(server, namespace, "app=fe")[0]["metadata"]["name"]
    server.kubectl("-n", namespace, "delete", "pod", victim)
    eventually(lambda: len(live_pods(server, namespace, "app=fe")) == 2
               and victim not in {p["metadata"]["name"]
                                  for p in live_pods(server, namespace, "app=fe")},
               what="a replacement pod")
    eventually(lambda: get_json(server, namespace, "rs", "fe")["status"].get(
        "readyReplicas") == 2, what="2 ready replicas")


RC_YAML = """
apiVersion: v1
kind: ReplicationController
metadata: {name: legacy}
spec:
  replicas: 2
  selector: {app: legacy}
  template:
    metadata: {labels: {app: legacy}}
    spec: {containers: [{name: c, image: nginx}]}
"""


def test_replication_controller(server: ServerProcess, namespace: str,
                                readiness: PodReadiness) -> None:
    server.kubectl("-n", namespace, "create", "-f", "-", input=RC_YAML)
    eventually(lambda: len(live_pods(server, namespace, "app=legacy")) == 2, what="2 pods")
    eventually(lambda: get_json(server, namespace, "rc", "legacy")["status"].get(
        "availableReplicas") == 2, what="2 available replicas")


RECREATE_YAML = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: db}
spec:
  replicas: 2
  strategy: {type: Recreate}
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: postgres:16}]}
"""


def test_recreate_removes_old_pods_before_creating_new(server: ServerProcess, namespace: str,
                                                       readiness: PodReadiness) -> None:
    server.kubectl("-n", namespace, "create", "-f", "-", input=RECREATE_YAML)
    rollout_status(server, namespace, "db")
    old_hash = replica_sets(server, namespace, "app=db")[0]["metadata"]["labels"][
        "pod-template-hash"]
    server.kubectl("-n", namespace, "set", "image", "deploy/db", "db=postgres:17")
    assert "successfully rolled out" in rollout_status(server, namespace, "db")
    events = list(readiness.events)
    last_old_gone = max(i for i, (kind, _, h) in enumerate(events)
                        if kind == "DELETED" and h == old_hash)
    first_new = min(i for i, (kind, _, h) in enumerate(events)
                    if kind == "ADDED" and h not in ("", old_hash))
    assert last_old_gone < first_new, events


HISTORY_YAML = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  revisionHistoryLimit: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: nginx, image: nginx:1.25}]}
"""


def test_revision_history_limit_prunes_empty_replica_sets(
        server: ServerProcess, namespace: str, readiness: PodReadiness) -> None:
    server.kubectl("-n", namespace, "create", "-f", "-", input=HISTORY_YAML)
    rollout_status(server, namespace, "web")
    for tag in ("1.26", "1.27"):
        server.kubectl("-n", namespace, "set", "image", "deploy/web", f"nginx=nginx:{tag}")
        rollout_status(server, namespace, "web")
    eventually(lambda: len(replica_sets(server, namespace, "app=web")) == 2,
               what="one old ReplicaSet kept")
    images = {rs["spec"]["template"]["spec"]["containers"][0]["image"]
              for rs in replica_sets(server, namespace, "app=web")}
    assert images == {"nginx:1.26", "nginx:1.27"}
