"""The real kubectl against a real steersman server: the everyday commands."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.e2e.harness import ServerProcess

MANIFEST = """\
apiVersion: v1
kind: Namespace
metadata:
  name: {ns}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: {ns}
  labels: {{app: web, tier: front}}
data:
  color: blue
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
  namespace: {ns}
stringData:
  password: hunter2
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: {ns}
  labels: {{app: web}}
spec:
  replicas: 2
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports:
        - containerPort: 80
        resources:
          requests: {{cpu: 100m, memory: 64Mi}}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: {ns}
spec:
  selector: {{app: web}}
  ports:
  - port: 80
    targetPort: 80
"""


def test_version_and_api_resources(server: ServerProcess) -> None:
    version = json.loads(server.kubectl("version", "-o", "json").stdout)
    assert version["serverVersion"]["minor"] == "32"
    resources = server.kubectl("api-resources").stdout
    for line in ("deployments", "deploy", "pods", "po", "customresourcedefinitions",
                 "leases", "endpointslices", "poddisruptionbudgets"):
        assert line in resources


def test_apply_and_get_everything(server: ServerProcess, tmp_path: Path) -> None:
    ns = "applied"
    path = tmp_path / "app.yaml"
    path.write_text(MANIFEST.format(ns=ns))
    out = server.kubectl("apply", "-f", str(path)).stdout
    assert "namespace/applied created" in out
    assert "deployment.apps/web created" in out
    again = server.kubectl("apply", "-f", str(path)).stdout
    assert "deployment.apps/web unchanged" in again

    table = server.kubectl("get", "deploy", "-n", ns).stdout
    assert table.split("\n")[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    wide = server.kubectl("get", "deploy", "-n", ns, "-o", "wide").stdout
    assert "nginx:1.27" in wide and "app=web" in wide

    svc = json.loads(server.kubectl("get", "svc", "web", "-n", ns, "-o", "json").stdout)
    assert svc["spec"]["clusterIP"].startswith("127.43.")
    assert svc["status"] == {"loadBalancer": {}}

    names = server.kubectl("get", "cm,secret", "-n", ns, "-o", "name").stdout.split()
    assert "configmap/settings" in names and "secret/creds" in names
    color = server.kubectl("get", "cm", "settings", "-n", ns, "-o",
                           "jsonpath={.data.color}").stdout
    assert color == "blue"
    by_label = server.kubectl("get", "cm", "-n", ns, "-l", "tier in (front,back)",
                              "-o", "name").stdout.split()
    assert by_label == ["configmap/settings"]
    by_field = server.kubectl("get", "cm", "-A", "--field-selector",
                              f"metadata.namespace={ns},metadata.name=settings").stdout
    assert "settings" in by_field and ns in by_field
    everything = server.kubectl("get", "ns").stdout
    for name in ("default", "kube-system", "kube-public", "kube-node-lease", ns):
        assert name in everything


def test_create_generators_send_protobuf(server: ServerProcess, namespace: str) -> None:
    server.kubectl("create", "configmap", "literal", "-n", namespace, "--from-literal=a=b")
    server.kubectl("create", "secret", "generic", "pw", "-n", namespace,
                   "--from-literal=password=s3cret")
    data = json.loads(server.kubectl("get", "secret", "pw", "-n", namespace, "-o",
                                     "json").stdout)["data"]
    assert data == {"password": "czNjcmV0"}
    server.kubectl("create", "deployment", "gen", "-n", namespace, "--image=busybox",
                   "--replicas=3")
    replicas = server.kubectl("get", "deploy", "gen", "-n", namespace, "-o",
                              "jsonpath={.spec.replicas}").stdout
    assert replicas == "3"


def test_patch_label_annotate_scale_replace(server: ServerProcess, namespace: str,
                                            tmp_path: Path) -> None:
    server.kubectl("create", "deployment", "app", "-n", namespace, "--image=busybox")
    server.kubectl("patch", "deploy", "app", "-n", namespace, "-p",
                   '{"spec":{"template":{"spec":{"containers":[{"name":"busybox",'
                   '"image":"busybox:1.36"}]}}}}')
    server.kubectl("patch", "deploy", "app", "-n", namespace, "--type=merge", "-p",
                   '{"metadata":{"labels":{"merged":"yes"}}}')
    server.kubectl("patch", "deploy", "app", "-n", namespace, "--type=json", "-p",
                   '[{"op":"replace","path":"/spec/replicas","value":4}]')
    failed = server.kubectl("patch", "deploy", "app", "-n", namespace, "--type=json", "-p",
                            '[{"op":"test","path":"/spec/replicas","value":9}]', check=False)
    assert failed.returncode != 0 and "invalid" in failed.stderr
    server.kubectl("label", "deploy", "app", "-n", namespace, "team=blue")
    server.kubectl("annotate", "deploy", "app", "-n", namespace, "note=hello")
    server.kubectl("scale", "deploy", "app", "-n", namespace, "--replicas=5")
    obj = json.loads(server.kubectl("get", "deploy", "app", "-n", namespace, "-o",
                                    "json").stdout)
    assert obj["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:1.36"
    assert obj["metadata"]["labels"]["merged"] == "yes"
    assert obj["metadata"]["labels"]["team"] == "blue"
    assert obj["metadata"]["annotations"]["note"] == "hello"
    assert obj["spec"]["replicas"] == 5
    assert obj["metadata"]["generation"] >= 3

    # A Deployment's controller writes it too: replace a ConfigMap nobody else touches.
    server.kubectl("create", "configmap", "replaced", "-n", namespace, "--from-literal=a=1")
    cm = json.loads(server.kubectl("get", "cm", "replaced", "-n", namespace, "-o",
                                   "json").stdout)
    cm["data"] = {"a": "2"}
    path = tmp_path / "replace.json"
    path.write_text(json.dumps(cm))
    server.kubectl("replace", "-f", str(path))
    stale = server.kubectl("replace", "-f", str(path), check=False)
    assert stale.returncode != 0 and "Conflict" in stale.stderr


def test_edit_with_editor(server: ServerProcess, namespace: str, tmp_path: Path) -> None:
    server.kubectl("create", "configmap", "editme", "-n", namespace, "--from-literal=k=old")
    editor = tmp_path / "editor.py"
    editor.write_text("import sys\np = sys.argv[1]\n"
                      "s = open(p).read().replace('k: old', 'k: new')\nopen(p, 'w').write(s)\n")
    server.kubectl("edit", "cm", "editme", "-n", namespace,
                   env={"KUBE_EDITOR": f"{sys.executable} {editor}"})
    value = server.kubectl("get", "cm", "editme", "-n", namespace, "-o",
                           "jsonpath={.data.k}").stdout
    assert value == "new"


def test_describe_and_diff(server: ServerProcess, namespace: str, tmp_path: Path) -> None:
    server.kubectl("create", "configmap", "described", "-n", namespace, "--from-literal=x=1")
    described = server.kubectl("describe", "cm", "described", "-n", namespace).stdout
    assert "Name:" in described and "described" in described
    path = tmp_path / "cm.yaml"
    path.write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: described\n"
                    f"  namespace: {namespace}\ndata:\n  x: '2'\n")
    diff = server.kubectl("diff", "-f", str(path), check=False)
    assert diff.returncode == 1, diff.stderr
    assert "-  x: \"1\"" in diff.stdout and "+  x: \"2\"" in diff.stdout


def test_watch_sees_changes(server: ServerProcess, namespace: str) -> None:
    watcher = subprocess.Popen(
        [server.kubectl_path or "kubectl", "--cache-dir", str(server.data_dir / "kubecache"),
         "--kubeconfig", str(server.kubeconfig), "get", "cm", "-n", namespace, "-w",
         "--output-watch-events", "--request-timeout=20s"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(watcher.stdout.readline, "")))
    reader.start()
    try:
        time.sleep(1.5)
        server.kubectl("create", "configmap", "watched", "-n", namespace, "--from-literal=a=1")
        server.kubectl("label", "cm", "watched", "-n", namespace, "x=y")
        server.kubectl("delete", "cm", "watched", "-n", namespace)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any("DELETED" in line for line in lines):
            time.sleep(0.1)
    finally:
        watcher.terminate()
        watcher.wait(timeout=10)
        reader.join(timeout=10)
    events = [line.split()[0] for line in lines if "watched" in line]
    assert events[:3] == ["ADDED", "MODIFIED", "DELETED"], lines


def test_errors_read_like_kubernetes(server: ServerProcess, namespace: str,
                                     tmp_path: Path) -> None:
    missing = server.kubectl("get", "pod", "nope", "-n", namespace, check=False)
    assert 'pods "nope" not found' in missing.stderr
    server.kubectl("create", "configmap", "dup", "-n", namespace)
    dup = server.kubectl("create", "configmap", "dup", "-n", namespace, check=False)
    assert "already exists" in dup.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: bad\n  namespace: {namespace}\n"
                   "spec:\n  containers:\n  - name: c\n")
    invalid = server.kubectl("apply", "-f", str(bad), check=False)
    assert 'The Pod "bad" is invalid' in invalid.stderr
    assert "spec.containers[0].image: Required value" in invalid.stderr
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: u\n"
                       f"  namespace: {namespace}\nbogus: 1\n")
    strict = server.kubectl("apply", "-f", str(unknown), check=False)
    assert 'unknown field "bogus"' in strict.stderr


def test_delete_with_finalizer_waits(server: ServerProcess, namespace: str) -> None:
    server.kubectl("create", "configmap", "held", "-n", namespace)
    server.kubectl("patch", "cm", "held", "-n", namespace, "--type=merge", "-p",
                   '{"metadata":{"finalizers":["example.com/hold"]}}')
    server.kubectl("delete", "cm", "held", "-n", namespace, "--wait=false")
    held = json.loads(server.kubectl("get", "cm", "held", "-n", namespace, "-o", "json").stdout)
    assert held["metadata"]["deletionTimestamp"]
    server.kubectl("patch", "cm", "held", "-n", namespace, "--type=json", "-p",
                   '[{"op":"remove","path":"/metadata/finalizers"}]')
    gone = server.kubectl("get", "cm", "held", "-n", namespace, check=False)
    assert "NotFound" in gone.stderr


def test_pagination_is_consistent(server: ServerProcess, namespace: str) -> None:
    for index in range(7):
        server.kubectl("create", "configmap", f"page-{index}", "-n", namespace)
    names = server.kubectl("get", "cm", "-n", namespace, "--chunk-size=2", "-o",
                           "name").stdout.split()
    assert [n for n in names if n.startswith("configmap/page-")] == [
        f"configmap/page-{i}" for i in range(7)]
    server.kubectl("delete", "cm", "-n", namespace, "-l", "missing-label")
    deleted = server.kubectl("delete", "cm", "-n", namespace, "page-0", "page-1").stdout
    assert 'configmap "page-0" deleted' in deleted
