"""Cascading deletion with the real kubectl: the garbage collector and namespace deletion.

Owners and dependents are ConfigMaps, Secrets and a custom resource whose CRD is created
once per module; dependents point at their owners' real uids. ``kubectl delete`` with each
``--cascade`` mode (background, orphan, foreground) and ``kubectl delete namespace`` are
checked for what kube users see. Waits are bounded (``kubectl wait --timeout``, or polling
with a deadline); nothing sleeps and then asserts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from tests.e2e.harness import ServerProcess

GROUP = "cascade.example.com"
HOLD = "example.com/hold"
WAIT = "--timeout=30s"
Object = dict[str, Any]


@pytest.fixture(scope="module")
def widgets(server: ServerProcess) -> str:
    server.kubectl("apply", "-f", "-", input=yaml.safe_dump({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{GROUP}"},
        "spec": {"group": GROUP, "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                 "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
                     "openAPIV3Schema": {"type": "object",
                                         "x-kubernetes-preserve-unknown-fields": True}}}]},
    }))
    server.kubectl("wait", "--for", "condition=established", WAIT, f"crd/widgets.{GROUP}")
    return f"widgets.{GROUP}"


def create(server: ServerProcess, obj: Object) -> None:
    server.kubectl("create", "-f", "-", input=yaml.safe_dump(obj))


def get(server: ServerProcess, namespace: str, *what: str) -> Object | None:
    scope = ("-n", namespace) if namespace else ()
    result = server.kubectl("get", *what, *scope, "-o", "json", check=False)
    if result.returncode != 0:
        assert "NotFound" in result.stderr, result.stderr
        return None
    found: Object = json.loads(result.stdout)
    return found


def uid(server: ServerProcess, namespace: str, *what: str) -> str:
    return server.kubectl("get", *what, "-n", namespace, "-o",
                          "jsonpath={.metadata.uid}").stdout


def ref(kind: str, name: str, owner_uid: str, api_version: str = "v1",
        block: bool = False) -> Object:
    owner: Object = {"apiVersion": api_version, "kind": kind, "name": name, "uid": owner_uid}
    if block:
        owner["blockOwnerDeletion"] = True
    return owner


def dependent(kind: str, name: str, namespace: str, owners: list[Object],
              finalizers: tuple[str, ...] = ()) -> Object:
    meta: Object = {"name": name, "namespace": namespace, "ownerReferences": owners}
    if finalizers:
        meta["finalizers"] = list(finalizers)
    return {"apiVersion": "v1", "kind": kind, "metadata": meta}


def eventually(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.1)


def release(server: ServerProcess, namespace: str, *what: str) -> None:
    server.kubectl("patch", *what, "-n", namespace, "--type=json",
                   "-p", '[{"op": "remove", "path": "/metadata/finalizers"}]')


def test_background_deletes_dependents_and_spares_co_owned(
        server: ServerProcess, namespace: str) -> None:
    server.kubectl("create", "configmap", "owner", "-n", namespace)
    server.kubectl("create", "configmap", "keeper", "-n", namespace)
    owner = ref("ConfigMap", "owner", uid(server, namespace, "cm", "owner"))
    keeper = ref("ConfigMap", "keeper", uid(server, namespace, "cm", "keeper"))
    for kind, name in (("ConfigMap", "d1"), ("ConfigMap", "d2"), ("Secret", "s1")):
        create(server, dependent(kind, name, namespace, [owner]))
    create(server, dependent("ConfigMap", "shared", namespace, [owner, keeper]))
    server.kubectl("delete", "cm", "owner", "-n", namespace, WAIT)
    server.kubectl("wait", "--for=delete", "cm/d1", "cm/d2", "secret/s1", "-n", namespace,
                   WAIT)

    def shared_refs() -> list[Object]:
        shared = get(server, namespace, "cm", "shared")
        assert shared is not None
        refs: list[Object] = shared["metadata"].get("ownerReferences", [])
        return refs

    eventually(lambda: len(shared_refs()) == 1, "the dangling reference of shared is gone")
    assert shared_refs()[0]["uid"] == keeper["uid"]


def test_dependents_of_an_owner_already_gone_are_collected(
        server: ServerProcess, namespace: str) -> None:
    server.kubectl("create", "configmap", "owner", "-n", namespace)
    owner_uid = uid(server, namespace, "cm", "owner")
    server.kubectl("delete", "cm", "owner", "-n", namespace, WAIT)
    server.kubectl("create", "configmap", "owner", "-n", namespace)  # same name, new uid
    create(server, dependent("ConfigMap", "late", namespace,
                             [ref("ConfigMap", "owner", owner_uid)]))
    server.kubectl("wait", "--for=delete", "cm/late", "-n", namespace, WAIT)
    assert get(server, namespace, "cm", "owner") is not None


def test_orphan_keeps_dependents_without_the_reference(
        server: ServerProcess, namespace: str) -> None:
    server.kubectl("create", "configmap", "owner", "-n", namespace)
    owner = ref("ConfigMap", "owner", uid(server, namespace, "cm", "owner"), block=True)
    create(server, dependent("ConfigMap", "d1", namespace, [owner]))
    create(server, dependent("Secret", "s1", namespace, [owner]))
    server.kubectl("delete", "cm", "owner", "--cascade=orphan", "-n", namespace, WAIT)
    assert get(server, namespace, "cm", "owner") is None
    for what in (("cm", "d1"), ("secret", "s1")):
        orphan = get(server, namespace, *what)
        assert orphan is not None, what
        assert "ownerReferences" not in orphan["metadata"], orphan["metadata"]


def test_foreground_waits_for_blocking_dependents(
        server: ServerProcess, namespace: str) -> None:
    server.kubectl("create", "configmap", "owner", "-n", namespace)
    owner = ref("ConfigMap", "owner", uid(server, namespace, "cm", "owner"), block=True)
    create(server, dependent("ConfigMap", "blocker", namespace, [owner], finalizers=(HOLD,)))
    create(server, dependent("Secret", "plain", namespace, [owner]))
    server.kubectl("delete", "cm", "owner", "--cascade=foreground", "--wait=false",
                   "-n", namespace)
    server.kubectl("wait", "--for=delete", "secret/plain", "-n", namespace, WAIT)

    def blocker_deleting() -> bool:
        blocker = get(server, namespace, "cm", "blocker")
        return blocker is not None and "deletionTimestamp" in blocker["metadata"]

    eventually(blocker_deleting, "the blocking dependent is being deleted")
    waiting = get(server, namespace, "cm", "owner")
    assert waiting is not None
    assert waiting["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert "deletionTimestamp" in waiting["metadata"]
    release(server, namespace, "cm", "blocker")
    server.kubectl("wait", "--for=delete", "cm/owner", "cm/blocker", "-n", namespace, WAIT)


def test_custom_resource_owner_cascades(server: ServerProcess, namespace: str,
                                        widgets: str) -> None:
    create(server, {"apiVersion": f"{GROUP}/v1", "kind": "Widget",
                    "metadata": {"name": "w", "namespace": namespace}, "spec": {"size": 1}})
    owner = ref("Widget", "w", uid(server, namespace, widgets, "w"), api_version=f"{GROUP}/v1")
    for name in ("c1", "c2"):
        create(server, dependent("ConfigMap", name, namespace, [owner]))
    server.kubectl("delete", widgets, "w", "-n", namespace, WAIT)
    server.kubectl("wait", "--for=delete", "cm/c1", "cm/c2", "-n", namespace, WAIT)


def test_namespace_deletion_removes_everything(server: ServerProcess, widgets: str) -> None:
    namespace = "doomed"
    server.kubectl("create", "namespace", namespace)
    server.kubectl("create", "configmap", "a", "-n", namespace)
    server.kubectl("create", "secret", "generic", "s", "-n", namespace)
    server.kubectl("create", "deployment", "web", "--image=nginx", "-n", namespace)
    create(server, {"apiVersion": f"{GROUP}/v1", "kind": "Widget",
                    "metadata": {"name": "w", "namespace": namespace}})
    create(server, {"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "held", "namespace": namespace, "finalizers": [HOLD]}})
    server.kubectl("delete", "namespace", namespace, "--wait=false")

    refused = server.kubectl("create", "configmap", "late", "-n", namespace, check=False)
    assert refused.returncode != 0
    assert (f"unable to create new content in namespace {namespace} because it is being "
            "terminated") in refused.stderr
    server.kubectl("wait", "--for=delete", "cm/a", "secret/s", "deployment/web",
                   f"{widgets}/w", "-n", namespace, WAIT)

    def conditions() -> dict[str, Object]:
        found = get(server, "", "namespace", namespace)
        assert found is not None and found["status"]["phase"] == "Terminating"
        return {c["type"]: c for c in found["status"].get("conditions", [])}

    eventually(lambda: conditions().get("NamespaceFinalizersRemaining", {}).get(
        "status") == "True", "the namespace reports the finalizer that holds it")
    reported = conditions()
    assert reported["NamespaceContentRemaining"]["reason"] == "SomeResourcesRemain"
    assert "configmaps. has 1 resource instances" in (
        reported["NamespaceContentRemaining"]["message"])
    assert f"{HOLD} in 1 resource instances" in reported["NamespaceFinalizersRemaining"][
        "message"]
    assert reported["NamespaceDeletionDiscoveryFailure"]["status"] == "False"
    release(server, namespace, "cm", "held")
    server.kubectl("wait", "--for=delete", f"namespace/{namespace}", WAIT)
