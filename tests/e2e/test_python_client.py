"""The official ``kubernetes`` Python client against a real steersman server."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from kubernetes import client, config, informer, watch
from kubernetes.client.rest import ApiException

from tests.e2e.harness import ServerProcess


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> Iterator[client.ApiClient]:
    api_client = config.new_client_from_config(config_file=str(server.kubeconfig))
    try:
        yield api_client
    finally:
        api_client.close()


@pytest.fixture
def ns(api: client.ApiClient) -> str:
    name = f"py-{uuid.uuid4().hex[:8]}"
    client.CoreV1Api(api).create_namespace(client.V1Namespace(metadata={"name": name}))
    return name


def _cm(name: str, labels: dict[str, str] | None = None) -> client.V1ConfigMap:
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels=labels),
                              data={"k": "v"})


def test_crud_and_errors(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    created = core.create_namespaced_config_map(ns, _cm("one"))
    assert created.metadata.uid and created.metadata.resource_version
    read = core.read_namespaced_config_map("one", ns)
    assert read.data == {"k": "v"}
    read.data["k"] = "w"
    updated = core.replace_namespaced_config_map("one", ns, read)
    assert int(updated.metadata.resource_version) > int(read.metadata.resource_version)
    with pytest.raises(ApiException) as stale:
        core.replace_namespaced_config_map("one", ns, read)
    assert stale.value.status == 409
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_config_map("absent", ns)
    assert missing.value.status == 404
    with pytest.raises(ApiException) as invalid:
        core.create_namespaced_pod(ns, {"metadata": {"name": "p"}, "spec": {"containers": []}})
    assert invalid.value.status == 422
    core.delete_namespaced_config_map("one", ns)
    with pytest.raises(ApiException):
        core.read_namespaced_config_map("one", ns)


def test_delete_answers_as_upstream_does(api: client.ApiClient, ns: str) -> None:
    """Services and ServiceAccounts come back as the deleted object, ConfigMaps as a Status."""
    core = client.CoreV1Api(api)
    core.create_namespaced_service(ns, client.V1Service(
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1ServiceSpec(ports=[client.V1ServicePort(port=80)])))
    deleted = core.delete_namespaced_service("web", ns)
    assert isinstance(deleted, client.V1Service) and deleted.metadata.name == "web"
    core.create_namespaced_service_account(ns, client.V1ServiceAccount(
        metadata=client.V1ObjectMeta(name="robot")))
    account = core.delete_namespaced_service_account("robot", ns)
    assert isinstance(account, client.V1ServiceAccount) and account.metadata.name == "robot"
    core.create_namespaced_config_map(ns, _cm("gone"))
    status = core.delete_namespaced_config_map("gone", ns)
    status = status if isinstance(status, dict) else status.to_dict()
    assert status["kind"] == "Status" and status["status"] == "Success"
    assert status["details"]["name"] == "gone"


def test_watch_from_list_resource_version(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_config_map(ns, _cm("before", {"w": "1"}))
    listed = core.list_namespaced_config_map(ns)
    rv = listed.metadata.resource_version
    core.create_namespaced_config_map(ns, _cm("b", {"w": "1"}))
    core.patch_namespaced_config_map("b", ns, {"data": {"k": "patched"}})
    core.delete_collection_namespaced_config_map(ns, label_selector="w=1")
    events = [(e["type"], e["object"].metadata.name) for e in watch.Watch().stream(
        core.list_namespaced_config_map, ns, resource_version=rv, timeout_seconds=2)]
    assert [t for t, _ in events] == ["ADDED", "MODIFIED", "DELETED", "DELETED"], events
    assert {n for t, n in events if t == "DELETED"} == {"before", "b"}


def test_deployment_and_service_shapes(api: client.ApiClient, ns: str) -> None:
    apps = client.AppsV1Api(api)
    core = client.CoreV1Api(api)
    body = {"metadata": {"name": "web"}, "spec": {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}},
                     "spec": {"containers": [{"name": "c", "image": "nginx",
                                              "resources": {"limits": {"cpu": "1000m"}}}]}}}}
    dep = apps.create_namespaced_deployment(ns, body)
    assert dep.spec.replicas == 1 and dep.spec.strategy.type == "RollingUpdate"
    limits = dep.spec.template.spec.containers[0].resources.limits
    assert limits == {"cpu": "1"}
    svc = core.create_namespaced_service(ns, {"metadata": {"name": "s"}, "spec": {
        "selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}]}})
    assert svc.status is not None
    merged = core.patch_namespaced_service("s", ns, {"spec": {"ports": [
        {"name": "new", "port": 8080}]}})
    assert sorted(p.port for p in merged.spec.ports) == [80, 8080]
    scale = apps.read_namespaced_deployment_scale("web", ns)
    assert scale.spec.replicas == 1 and scale.status.selector == "app=web"


def test_informer_follows_changes(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_config_map(ns, _cm("existing"))
    seen: list[tuple[str, str]] = []
    shared = informer.SharedInformer(core.list_namespaced_config_map, namespace=ns)
    for kind in (informer.ADDED, informer.MODIFIED, informer.DELETED):
        shared.add_event_handler(
            kind, lambda obj, kind=kind: seen.append((kind, obj.metadata.name)))
    shared.start()
    try:
        _wait_for(lambda: ("ADDED", "existing") in seen)
        core.create_namespaced_config_map(ns, _cm("informed"))
        core.patch_namespaced_config_map("informed", ns, {"data": {"k": "changed"}})
        core.delete_namespaced_config_map("informed", ns)
        _wait_for(lambda: ("DELETED", "informed") in seen)
        assert [e for e in seen if e[1] == "informed"] == [
            ("ADDED", "informed"), ("MODIFIED", "informed"), ("DELETED", "informed")]
        assert sorted(o.metadata.name for o in shared.cache.list()) == ["existing"]
    finally:
        shared.stop()


def _wait_for(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
