"""What exists from the first start: the four built-in namespaces, the ``kubernetes`` Service,
the two system PriorityClasses (``system-node-critical``, ``system-cluster-critical``) and
the default StorageClass ``local-path`` (served by the local-path provisioner in
``steersman.controllers.volume``, as k3s ships ``local-path``).

Run after the watch cache has loaded; each object is created only when absent, so a restart
keeps whatever users changed — except where this server's address lives: the ``kubernetes``
Service's target port and its Endpoints and EndpointSlice are brought up to date on every
start (upstream's endpoint reconciler), so a server on a new port is still reachable at the
Service's ClusterIP and by in-cluster clients.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from steersman.api import errors
from steersman.api.resources import Registry
from steersman.api.volumes import LOCAL_PATH_PROVISIONER, WAIT_FOR_FIRST_CONSUMER
from steersman.apiserver.generic import GenericRegistry, copy_object
from steersman.apiserver.priority_admission import SYSTEM_PRIORITY_CLASSES

Object = dict[str, Any]
BUILTIN_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
LOCAL_PATH_CLASS = "local-path"


async def ensure_builtin_objects(registry: GenericRegistry, resources: Registry, *,
                                 cluster_ip: str, advertise_ip: str, port: int) -> None:
    namespaces = _resource(resources, "namespaces")
    for name in BUILTIN_NAMESPACES:
        await _create_if_absent(registry, namespaces, "", {"metadata": {"name": name}})
    await _ensure_kubernetes_service(registry, resources, cluster_ip=cluster_ip,
                                     advertise_ip=advertise_ip, port=port)
    await _ensure_system_priority_classes(registry, resources)
    await _ensure_default_storage_class(registry, resources)


async def _ensure_kubernetes_service(registry: GenericRegistry, resources: Registry, *,
                                     cluster_ip: str, advertise_ip: str, port: int) -> None:
    """``default/kubernetes`` and its Endpoints and EndpointSlice, pointing at this server."""
    port_spec = {"name": "https", "port": port, "protocol": "TCP"}
    subsets = [{"addresses": [{"ip": advertise_ip}], "ports": [port_spec]}]
    endpoints = [{"addresses": [advertise_ip], "conditions": {"ready": True}}]

    def target_this_port(service: Object) -> None:
        for service_port in service["spec"].get("ports") or []:
            if service_port.get("name") == "https":
                service_port["targetPort"] = port

    await _ensure(registry, _resource(resources, "services"), "default", {
        "metadata": {"name": "kubernetes", "labels": {
            "component": "apiserver", "provider": "kubernetes"}},
        "spec": {"clusterIP": cluster_ip, "ports": [
            {"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}]},
    }, current=lambda svc: svc["spec"].get("ports"), update=target_this_port)
    await _ensure(registry, _resource(resources, "endpoints"), "default", {
        "metadata": {"name": "kubernetes", "labels": {
            "endpointslice.kubernetes.io/skip-mirror": "true"}},
        "subsets": subsets,
    }, current=lambda ep: ep.get("subsets"), update=lambda ep: ep.update(subsets=subsets))
    slices = resources.get("discovery.k8s.io", "v1", "endpointslices")
    assert slices is not None, "discovery.k8s.io/v1 endpointslices is not registered"
    await _ensure(registry, slices, "default", {
        "metadata": {"name": "kubernetes", "labels": {"kubernetes.io/service-name": "kubernetes"}},
        "addressType": "IPv4", "endpoints": endpoints, "ports": [port_spec],
    }, current=lambda es: (es.get("endpoints"), es.get("ports")),
       update=lambda es: es.update(endpoints=endpoints, ports=[port_spec]))


async def _ensure_system_priority_classes(registry: GenericRegistry, resources: Registry) -> None:
    info = resources.get("scheduling.k8s.io", "v1", "priorityclasses")
    assert info is not None, "scheduling.k8s.io/v1 priorityclasses is not registered"
    for name, value in SYSTEM_PRIORITY_CLASSES.items():
        await _create_if_absent(registry, info, "", {
            "metadata": {"name": name}, "value": value,
            "description": "Used for system critical pods that must not be moved from their "
                           "current node." if name == "system-node-critical" else
                           "Used for system critical pods that must run in the cluster, but "
                           "can be moved to another node if necessary."})


async def _ensure_default_storage_class(registry: GenericRegistry, resources: Registry) -> None:
    """``local-path``, when the cluster has no StorageClass at all: classes a user made
    (or a default mark a user moved) are never overruled."""
    info = resources.get("storage.k8s.io", "v1", "storageclasses")
    assert info is not None, "storage.k8s.io/v1 storageclasses is not registered"
    if any(True for _ in registry.objects(info)):
        return
    await _create_if_absent(registry, info, "", {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": LOCAL_PATH_CLASS, "annotations": {
            "storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": LOCAL_PATH_PROVISIONER, "reclaimPolicy": "Delete",
        "volumeBindingMode": WAIT_FOR_FIRST_CONSUMER})


def _resource(resources: Registry, plural: str) -> Any:
    info = resources.get("", "v1", plural)
    assert info is not None, f"core resource {plural} is not registered"
    return info


async def _ensure(registry: GenericRegistry, info: Any, namespace: str, obj: Object, *,
                  current: Callable[[Object], object], update: Callable[[Object], object]) -> None:
    """Create ``obj`` if absent; else apply ``update`` where it changes ``current``."""
    existing = registry.cached(info, namespace, obj["metadata"]["name"])
    if existing is None:
        await _create_if_absent(registry, info, namespace, obj)
        return
    wanted = copy_object(existing)
    update(wanted)
    if current(wanted) != current(existing):
        await registry.update(info, namespace, obj["metadata"]["name"], wanted)


async def _create_if_absent(registry: GenericRegistry, info: Any, namespace: str,
                            obj: Object) -> None:
    if registry.cached(info, namespace, obj["metadata"]["name"]) is not None:
        return
    try:
        await registry.create(info, namespace, obj)
    except errors.StatusError as exc:
        if exc.reason != "AlreadyExists":
            raise
