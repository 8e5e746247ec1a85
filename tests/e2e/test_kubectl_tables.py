"""What `kubectl get`, `explain` and friends print: the columns users know."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.harness import ServerProcess

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: {ns}
  labels: {{app: demo}}
spec:
  containers:
  - name: main
    image: busybox:1.36
    command: [sleep, "3600"]
"""


def _pod(server: ServerProcess, tmp_path: Path, ns: str, name: str) -> None:
    path = tmp_path / f"{name}.yaml"
    path.write_text(POD.format(name=name, ns=ns))
    server.kubectl("apply", "-f", str(path))


def test_pod_table_and_wide(server: ServerProcess, namespace: str, tmp_path: Path) -> None:
    _pod(server, tmp_path, namespace, "p1")
    lines = server.kubectl("get", "pods", "-n", namespace).stdout.splitlines()
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert lines[1].split()[:4] == ["p1", "0/1", "Pending", "0"]
    wide = server.kubectl("get", "pods", "-n", namespace, "-o", "wide").stdout.splitlines()
    assert wide[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE",
                               "NOMINATED", "NODE", "READINESS", "GATES"]
    labels = server.kubectl("get", "pods", "-n", namespace, "--show-labels").stdout
    assert "app=demo" in labels
    every = server.kubectl("get", "pods", "-A").stdout.splitlines()
    assert every[0].split()[0] == "NAMESPACE"
    assert any(line.split()[:2] == [namespace, "p1"] for line in every)


def test_pod_defaults_and_field_selectors(server: ServerProcess, namespace: str,
                                          tmp_path: Path) -> None:
    _pod(server, tmp_path, namespace, "p2")
    pod = json.loads(server.kubectl("get", "pod", "p2", "-n", namespace, "-o", "json").stdout)
    spec = pod["spec"]
    assert spec["restartPolicy"] == "Always"
    assert spec["terminationGracePeriodSeconds"] == 30
    assert spec["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert (pod["status"]["phase"], pod["status"]["qosClass"]) == ("Pending", "BestEffort")
    unscheduled = server.kubectl("get", "pods", "-A", "--field-selector",
                                 "spec.nodeName=", "-o", "name").stdout.split()
    assert "pod/p2" in unscheduled
    running = server.kubectl("get", "pods", "-n", namespace, "--field-selector",
                             "status.phase=Running", "-o", "name").stdout
    assert running == ""


def test_dry_run_server_and_client(server: ServerProcess, namespace: str,
                                   tmp_path: Path) -> None:
    path = tmp_path / "dry.yaml"
    path.write_text(POD.format(name="dry", ns=namespace))
    out = server.kubectl("apply", "-f", str(path), "--dry-run=server").stdout
    assert "pod/dry created (server dry run)" in out
    missing = server.kubectl("get", "pod", "dry", "-n", namespace, check=False)
    assert "NotFound" in missing.stderr


def test_get_all_and_explain(server: ServerProcess, namespace: str) -> None:
    server.kubectl("create", "deployment", "all-web", "-n", namespace, "--image=nginx")
    server.kubectl("create", "service", "clusterip", "all-web", "-n", namespace,
                   "--tcp=80:80")
    everything = server.kubectl("get", "all", "-n", namespace).stdout
    assert "deployment.apps/all-web" in everything and "service/all-web" in everything
    explained = server.kubectl("explain", "pods.spec.containers").stdout
    assert "KIND:" in explained and "Container" in explained and "image" in explained
    node_help = server.kubectl("explain", "deployment.spec.strategy").stdout
    assert "rollingUpdate" in node_help


def test_nodes_and_events_tables(server: ServerProcess) -> None:
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {
        "name": "table-node", "labels": {"node-role.kubernetes.io/worker": ""}},
        "status": {"nodeInfo": {"kubeletVersion": "v1.32.4"},
                   "conditions": [{"type": "Ready", "status": "True"}]}}
    server.kubectl("create", "-f", "-", input=json.dumps(node))
    server.kubectl("cordon", "table-node")
    lines = server.kubectl("get", "nodes").stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    row = next(line.split() for line in lines if line.startswith("table-node"))
    assert row[1:3] == ["Ready,SchedulingDisabled", "worker"] and row[-1] == "v1.32.4"
    server.kubectl("delete", "node", "table-node")
