"""DaemonSets, StatefulSets, Jobs and CronJobs through the real kubectl.

Nothing runs pods in this server, so the tests play the node agent: they create Node
objects and move pods along by patching their ``/status`` (Running and Ready, Succeeded,
Failed), then read what the controllers did the way a user would.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from tests.e2e.conftest import write
from tests.e2e.harness import ServerProcess

Object = dict[str, Any]


def wait_until(check: Callable[[], Any], *, timeout: float = 30, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.2)


def get_json(server: ServerProcess, *args: str) -> Object:
    result: Object = json.loads(server.kubectl("get", *args, "-o", "json").stdout)
    return result


def pods(server: ServerProcess, namespace: str, selector: str) -> list[Object]:
    items: list[Object] = get_json(server, "pods", "-n", namespace, "-l", selector)["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


def set_pod_status(server: ServerProcess, namespace: str, pod: str, phase: str) -> None:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    ready = "True" if phase == "Running" else "False"
    status = {"phase": phase, "conditions": [
        {"type": "Ready", "status": ready, "lastTransitionTime": now}]}
    server.kubectl("patch", "pod", pod, "-n", namespace, "--subresource=status",
                   "--type=merge", "-p", json.dumps({"status": status}))


def make_ready(server: ServerProcess, namespace: str, selector: str) -> list[Object]:
    """Mark every live pod matching ``selector`` Running and Ready; return them."""
    found = pods(server, namespace, selector)
    for pod in found:
        if (pod.get("status") or {}).get("phase") != "Running":
            set_pod_status(server, namespace, pod["metadata"]["name"], "Running")
    return found


def node_of(pod: Object) -> str:
    terms = pod["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    return str(terms[0]["matchFields"][0]["values"][0])


def create_node(server: ServerProcess, name: str, labels: dict[str, str],
                taints: list[Object] | None = None) -> None:
    node = {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": labels}, "spec": {"taints": taints or []}}
    server.kubectl("create", "-f", "-", input=json.dumps(node))
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    ready = {"type": "Ready", "status": "True", "lastHeartbeatTime": now,
             "lastTransitionTime": now, "reason": "KubeletReady", "message": "ready"}
    server.kubectl("patch", "node", name, "--subresource=status", "--type=merge",
                   "-p", json.dumps({"status": {"conditions": [ready]}}))


def daemon_set(name: str, role: str, image: str, tolerate: bool = False) -> str:
    tolerations = ('      tolerations: [{key: dedicated, operator: Exists, '
                   'effect: NoSchedule}]\n' if tolerate else "")
    return f"""apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: {name}}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      nodeSelector: {{role: {role}}}
      terminationGracePeriodSeconds: 0
{tolerations}      containers: [{{name: c, image: {image}}}]
"""


def test_daemonset_places_pods_and_rolls_them(server: ServerProcess, namespace: str,
                                              tmp_path: Any) -> None:
    role = namespace
    create_node(server, f"{namespace}-a", {"role": role})
    create_node(server, f"{namespace}-b", {"role": role},
                [{"key": "dedicated", "value": "x", "effect": "NoSchedule"}])
    create_node(server, f"{namespace}-c", {"role": "other"})
    for name, tolerate in (("plain", False), ("tolerant", True)):
        path = write(tmp_path / f"{name}.yaml", daemon_set(name, role, "img:1", tolerate))
        server.kubectl("apply", "-n", namespace, "-f", str(path))
    plain = wait_until(lambda: pods(server, namespace, "app=plain"), what="plain pods")
    tolerant = wait_until(lambda: len(found := pods(server, namespace, "app=tolerant")) == 2
                          and found, what="tolerant pods")
    time.sleep(0.5)
    assert [node_of(p) for p in pods(server, namespace, "app=plain")] == [f"{namespace}-a"]
    assert sorted(map(node_of, tolerant)) == [f"{namespace}-a", f"{namespace}-b"]
    assert all(not p["spec"].get("nodeName") for p in plain + tolerant)
    make_ready(server, namespace, "app=tolerant")
    wait_until(lambda: get_json(server, "ds", "tolerant", "-n", namespace)["status"].get(
        "numberReady") == 2, what="tolerant ready")
    server.kubectl("set", "image", "ds/tolerant", "c=img:2", "-n", namespace)

    def rolled() -> bool:
        found = make_ready(server, namespace, "app=tolerant")
        images = [p["spec"]["containers"][0]["image"] for p in found]
        status = get_json(server, "ds", "tolerant", "-n", namespace)["status"]
        return images == ["img:2", "img:2"] and status.get("updatedNumberScheduled") == 2 \
            and status.get("numberAvailable") == 2

    wait_until(rolled, what="rolled daemon set")
    server.kubectl("rollout", "status", "ds/tolerant", "-n", namespace, "--timeout=20s")
    row = server.kubectl("get", "ds", "tolerant", "-n", namespace).stdout.splitlines()[1]
    assert row.split()[1:6] == ["2", "2", "2", "2", "2"], row
    revisions = server.kubectl("get", "controllerrevisions", "-n", namespace).stdout
    assert revisions.count("tolerant-") == 2


STATEFUL_SET = """apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  replicas: 3
  serviceName: web
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 0
      containers: [{name: c, image: "img:1"}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
"""


def names(server: ServerProcess, namespace: str) -> list[str]:
    return sorted(p["metadata"]["name"] for p in pods(server, namespace, "app=web"))


def _names_are(server: ServerProcess, namespace: str, expected: list[str]) -> bool:
    return names(server, namespace) == expected


def test_statefulset_orders_scales_and_partitions(server: ServerProcess, namespace: str,
                                                  tmp_path: Any) -> None:
    server.kubectl("apply", "-n", namespace, "-f", str(write(tmp_path / "s.yaml",
                                                             STATEFUL_SET)))
    for count in (1, 2, 3):
        expected = [f"web-{i}" for i in range(count)]
        wait_until(partial(_names_are, server, namespace, expected), what=str(expected))
        time.sleep(0.3)
        assert names(server, namespace) == expected  # the next waits for this one
        make_ready(server, namespace, "app=web")
    web0 = get_json(server, "pod", "web-0", "-n", namespace)
    assert web0["spec"]["hostname"] == "web-0" and web0["spec"]["subdomain"] == "web"
    assert web0["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == "web-0"
    assert web0["metadata"]["labels"]["apps.kubernetes.io/pod-index"] == "0"
    claims = server.kubectl("get", "pvc", "-n", namespace, "-o", "name").stdout.split()
    assert sorted(claims) == [f"persistentvolumeclaim/data-web-{i}" for i in range(3)]
    server.kubectl("rollout", "status", "sts/web", "-n", namespace, "--timeout=20s")

    server.kubectl("scale", "sts/web", "--replicas=2", "-n", namespace)
    wait_until(lambda: names(server, namespace) == ["web-0", "web-1"], what="scaled down")
    server.kubectl("scale", "sts/web", "--replicas=3", "-n", namespace)
    wait_until(lambda: names(server, namespace) == ["web-0", "web-1", "web-2"], what="up")
    make_ready(server, namespace, "app=web")

    server.kubectl("patch", "sts", "web", "-n", namespace, "-p",
                   '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":2}}}}')
    server.kubectl("set", "image", "sts/web", "c=img:2", "-n", namespace)

    def partitioned() -> bool:
        found = {p["metadata"]["name"]: p["spec"]["containers"][0]["image"]
                 for p in make_ready(server, namespace, "app=web")}
        return found == {"web-0": "img:1", "web-1": "img:1", "web-2": "img:2"}

    wait_until(partitioned, what="partitioned update")
    status = wait_until(lambda: (s := get_json(server, "sts", "web", "-n", namespace)[
        "status"]).get("readyReplicas") == 3 and s, what="ready again")
    assert status["updatedReplicas"] == 1 and status["currentReplicas"] == 2
    assert status["currentRevision"] != status["updateRevision"]
    web2 = get_json(server, "pod", "web-2", "-n", namespace)
    assert web2["metadata"]["labels"]["controller-revision-hash"] == status["updateRevision"]
    assert "3/3" in server.kubectl("get", "sts", "web", "-n", namespace).stdout


def job_yaml(name: str, spec: str) -> str:
    return f"""apiVersion: batch/v1
kind: Job
metadata: {{name: {name}}}
spec:
{spec}
  template:
    spec:
      restartPolicy: Never
      containers: [{{name: c, image: busybox}}]
"""


def job_pods(server: ServerProcess, namespace: str, job: str, phase: str = "") -> list[Object]:
    found = pods(server, namespace, f"batch.kubernetes.io/job-name={job}")
    return [p for p in found if not phase or p.get("status", {}).get("phase") == phase]


def finish_pods(server: ServerProcess, namespace: str, job: str, phase: str, count: int
                ) -> None:
    for pod in wait_until(lambda: len(found := job_pods(server, namespace, job, "Pending"))
                          >= count and found, what=f"{count} pending pods of {job}")[:count]:
        set_pod_status(server, namespace, pod["metadata"]["name"], phase)


def test_job_completes_with_parallelism(server: ServerProcess, namespace: str,
                                        tmp_path: Any) -> None:
    server.kubectl("apply", "-n", namespace, "-f", str(write(
        tmp_path / "j.yaml", job_yaml("work", "  completions: 3\n  parallelism: 2"))))
    wait_until(lambda: len(job_pods(server, namespace, "work")) == 2, what="two pods")
    time.sleep(0.3)
    assert len(job_pods(server, namespace, "work")) == 2
    finish_pods(server, namespace, "work", "Succeeded", 2)
    finish_pods(server, namespace, "work", "Succeeded", 1)
    server.kubectl("wait", "--for=condition=complete", "job/work", "-n", namespace,
                   "--timeout=30s")
    row = server.kubectl("get", "job", "work", "-n", namespace).stdout.splitlines()[1].split()
    assert row[1:3] == ["Complete", "3/3"], row
    status = get_json(server, "job", "work", "-n", namespace)["status"]
    assert status["succeeded"] == 3 and status.get("failed", 0) == 0
    assert status["startTime"] and status["completionTime"]


def test_job_fails_after_backoff_limit(server: ServerProcess, namespace: str,
                                       tmp_path: Any) -> None:
    server.kubectl("apply", "-n", namespace, "-f", str(write(
        tmp_path / "j.yaml", job_yaml("flaky", "  backoffLimit: 1"))))
    finish_pods(server, namespace, "flaky", "Failed", 1)
    finish_pods(server, namespace, "flaky", "Failed", 1)  # after the 10 s back-off
    server.kubectl("wait", "--for=condition=failed", "job/flaky", "-n", namespace,
                   "--timeout=30s")
    job = get_json(server, "job", "flaky", "-n", namespace)
    failed = [c for c in job["status"]["conditions"] if c["type"] == "Failed"]
    assert failed[0]["reason"] == "BackoffLimitExceeded"
    assert job["status"]["failed"] == 2


def test_job_deadline_and_ttl(server: ServerProcess, namespace: str, tmp_path: Any) -> None:
    server.kubectl("apply", "-n", namespace, "-f", str(write(
        tmp_path / "slow.yaml", job_yaml("slow", "  activeDeadlineSeconds: 2"))))
    server.kubectl("apply", "-n", namespace, "-f", str(write(
        tmp_path / "brief.yaml", job_yaml("brief", "  ttlSecondsAfterFinished: 1"))))
    finish_pods(server, namespace, "brief", "Succeeded", 1)
    server.kubectl("wait", "--for=condition=failed", "job/slow", "-n", namespace,
                   "--timeout=30s")
    conditions = get_json(server, "job", "slow", "-n", namespace)["status"]["conditions"]
    assert [c["reason"] for c in conditions if c["type"] == "Failed"] == ["DeadlineExceeded"]
    assert job_pods(server, namespace, "slow") == []
    wait_until(lambda: server.kubectl("get", "job", "brief", "-n", namespace,
                                      check=False).returncode != 0, what="brief deleted")


def test_cronjob_create_and_job_from_it(server: ServerProcess, namespace: str) -> None:
    server.kubectl("create", "cronjob", "tick", "--image=busybox", "--schedule=* * * * *",
                   "-n", namespace)
    assert "* * * * *" in server.kubectl("get", "cronjob", "tick", "-n", namespace).stdout
    server.kubectl("create", "job", "manual", "--from=cronjob/tick", "-n", namespace)
    job = get_json(server, "job", "manual", "-n", namespace)
    assert job["metadata"]["ownerReferences"][0]["name"] == "tick"
    wait_until(lambda: job_pods(server, namespace, "manual"), what="the manual job's pod")
