"""persistentVolumeClaim volumes through the local-path provisioner, against ``steersman up``.

One ``steersman up`` (process runtime) for the module, driven by the real kubectl: the
default StorageClass ``local-path`` exists from the start; a claim without a class gets
it and waits for its first consumer; the scheduler picks the node and the provisioner
makes ``<data dir>/volumes/pvc-<uid>``; a Deployment's pod writes a file there and its
replacement reads it back; deleting the claim removes the volume and its directory. The
process runtime shows a container its volumes at their host paths, so the pods work in
their volume through ``workingDir`` (mapped through the mounts). A claim deleted while a
pod uses it waits (``Terminating``) until the pod is gone.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import ServerProcess
from tests.e2e.up_cluster import eventually, running_up


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_up(tmp_path_factory.mktemp("up") / "data") as running:
        yield running


@pytest.fixture
def namespace(cluster: ServerProcess) -> str:
    name = f"t-{uuid.uuid4().hex[:8]}"
    cluster.kubectl("create", "namespace", name)
    return name


def _apply(cluster: ServerProcess, namespace: str, obj: dict[str, Any]) -> None:
    scope = ("-n", namespace) if namespace else ()
    cluster.kubectl("apply", *scope, "-f", "-", input=json.dumps(obj))


def _claim(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "1Gi"}}}}


def _pod_spec(claim: str, script: str) -> dict[str, Any]:
    return {"terminationGracePeriodSeconds": 2,
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}],
            "containers": [{
                "name": "c", "image": "busybox", "command": ["sh", "-c", script],
                "workingDir": "/data", "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                "env": [{"name": "POD_NAME",
                         "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]}]}


def _get(cluster: ServerProcess, namespace: str, *what: str) -> Any:
    args = ("-n", namespace) if namespace else ()
    return json.loads(cluster.kubectl("get", *args, *what, "-o", "json").stdout)


def _running_pods(cluster: ServerProcess, namespace: str) -> list[str]:
    pods = _get(cluster, namespace, "pods", "-l", "app=writer")["items"]
    return [p["metadata"]["name"] for p in pods if p["status"].get("phase") == "Running"
            and not p["metadata"].get("deletionTimestamp")]


def _log(cluster: ServerProcess, namespace: str, pod: str) -> str:
    return cluster.kubectl("logs", "-n", namespace, pod).stdout


def test_default_storage_class_is_local_path(cluster: ServerProcess) -> None:
    table = cluster.kubectl("get", "storageclass").stdout.splitlines()
    assert table[0].split() == ["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE",
                                "ALLOWVOLUMEEXPANSION", "AGE"]
    assert table[1].split()[:6] == ["local-path", "(default)", "steersman.io/local-path",
                                    "Delete", "WaitForFirstConsumer", "false"]


def test_claim_outlives_its_pods_and_goes_with_its_volume(
        cluster: ServerProcess, namespace: str) -> None:
    _apply(cluster, namespace, _claim("data"))
    claim = _get(cluster, namespace, "pvc", "data")
    assert (claim["spec"]["storageClassName"], claim["status"]["phase"]) == (
        "local-path", "Pending")  # waits for its first consumer
    script = 'test -f seen || echo "$POD_NAME" > seen; cat seen; exec sleep 3600'
    _apply(cluster, namespace, {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "writer"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "writer"}},
                 "template": {"metadata": {"labels": {"app": "writer"}},
                              "spec": _pod_spec("data", script)}}})
    eventually(lambda: len(_running_pods(cluster, namespace)) == 1, 60, "the writer running")
    first = _running_pods(cluster, namespace)[0]
    eventually(lambda: _log(cluster, namespace, first) == f"{first}\n", 30, "the first log")

    row = cluster.kubectl("get", "-n", namespace, "pvc", "data").stdout.splitlines()[1].split()
    volume = row[2]
    assert row[:2] == ["data", "Bound"] and volume.startswith("pvc-")
    assert row[3:6] == ["1Gi", "RWO", "local-path"]
    pv_row = cluster.kubectl("get", "pv", volume).stdout.splitlines()[1].split()
    assert pv_row[1:7] == ["1Gi", "RWO", "Delete", "Bound", f"{namespace}/data", "local-path"]
    combined = cluster.kubectl("get", "-n", namespace, "pvc,pv,storageclass").stdout
    for name in ("persistentvolumeclaim/data", f"persistentvolume/{volume}",
                 "storageclass.storage.k8s.io/local-path (default)"):
        assert name in combined
    pv = _get(cluster, "", "pv", volume)
    directory = Path(pv["spec"]["hostPath"]["path"])
    assert directory == cluster.data_dir / "volumes" / volume
    node = _get(cluster, namespace, "pod", first)["spec"]["nodeName"]
    assert pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0][
        "matchExpressions"] == [{"key": "kubernetes.io/hostname", "operator": "In",
                                 "values": [node]}]
    assert _get(cluster, namespace, "pvc", "data")["metadata"]["annotations"][
        "volume.kubernetes.io/selected-node"] == node

    cluster.kubectl("delete", "-n", namespace, "pod", first, "--wait=false")
    eventually(lambda: [p for p in _running_pods(cluster, namespace) if p != first] != [],
               60, "a replacement pod running")
    second = next(p for p in _running_pods(cluster, namespace) if p != first)
    eventually(lambda: _log(cluster, namespace, second) == f"{first}\n", 30,
               "the replacement reading the first pod's file")
    assert (directory / "seen").read_text() == f"{first}\n"

    cluster.kubectl("delete", "-n", namespace, "pvc", "data", "--wait=false")
    row = cluster.kubectl("get", "-n", namespace, "pvc", "data").stdout.splitlines()[1]
    assert row.split()[:2] == ["data", "Terminating"]  # in use: kept by pvc-protection
    assert (directory / "seen").is_file()
    cluster.kubectl("delete", "-n", namespace, "deployment", "writer")
    eventually(lambda: not _get(cluster, "", "pv")["items"], 60, "the volume deleted")
    assert not _get(cluster, namespace, "pvc")["items"]
    assert not directory.exists()


def test_pod_waits_for_its_missing_claim(cluster: ServerProcess, namespace: str) -> None:
    _apply(cluster, namespace, {"apiVersion": "v1", "kind": "Pod",
                                "metadata": {"name": "reader", "labels": {"app": "reader"}},
                                "spec": _pod_spec("later", "cat seen; exec sleep 3600")})

    def scheduled_message() -> str:
        pod = _get(cluster, namespace, "pod", "reader")
        return next((c.get("message", "") for c in pod["status"].get("conditions") or []
                     if c["type"] == "PodScheduled"), "")

    eventually(lambda: 'persistentvolumeclaim "later" not found' in scheduled_message(), 30,
               "the Unschedulable condition")
    assert scheduled_message().startswith(
        '0/1 nodes are available: persistentvolumeclaim "later" not found.')
    _apply(cluster, namespace, _claim("later"))
    cluster.kubectl("wait", "-n", namespace, "pod/reader", "--for=condition=PodScheduled",
                    "--timeout=30s", timeout=60)
    cluster.kubectl("wait", "-n", namespace, "pvc/later", "--timeout=30s",
                    "--for=jsonpath={.status.phase}=Bound", timeout=60)
    cluster.kubectl("delete", "-n", namespace, "pod", "reader")
    cluster.kubectl("delete", "-n", namespace, "pvc", "later")


def test_pod_of_an_unprovisioned_claim_waits_in_container_creating(
        cluster: ServerProcess, namespace: str) -> None:
    storage_class = f"nobody-{namespace}"
    _apply(cluster, "", {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                         "metadata": {"name": storage_class},
                         "provisioner": "example.com/nobody",
                         "volumeBindingMode": "WaitForFirstConsumer"})
    try:
        _apply(cluster, namespace, {**_claim("orphan"), "spec": {
            **_claim("orphan")["spec"], "storageClassName": storage_class}})
        _apply(cluster, namespace, {"apiVersion": "v1", "kind": "Pod",
                                    "metadata": {"name": "stuck"},
                                    "spec": _pod_spec("orphan", "exec sleep 3600")})

        def waiting() -> dict[str, Any]:
            pod = _get(cluster, namespace, "pod", "stuck")
            statuses = pod["status"].get("containerStatuses") or [{}]
            return dict(statuses[0].get("state", {}).get("waiting") or {})

        eventually(lambda: waiting().get("reason") == "ContainerCreating", 30,
                   "the container waiting for its claim")
        assert waiting()["message"] == (
            'waiting for persistentvolumeclaim "orphan" to be bound (phase Pending)')
        orphan = _get(cluster, namespace, "pvc", "orphan")
        node = _get(cluster, namespace, "pod", "stuck")["spec"]["nodeName"]
        assert orphan["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == node
        cluster.kubectl("delete", "-n", namespace, "pod", "stuck")
    finally:
        cluster.kubectl("delete", "storageclass", storage_class)
