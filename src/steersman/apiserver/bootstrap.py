"""What exists from the first start: the four built-in namespaces, the ``kubernetes`` Service
and the two system PriorityClasses (``system-node-critical``, ``system-cluster-critical``).

Run after the watch cache has loaded; each object is created only when absent, so a restart
keeps whatever users changed. The ``kubernetes`` Service's Endpoints point at this server.
"""

from __future__ import annotations

from typing import Any

from steersman.api import errors
from steersman.api.resources import Registry
from steersman.apiserver.generic import GenericRegistry
from steersman.apiserver.priority_admission import SYSTEM_PRIORITY_CLASSES

Object = dict[str, Any]
BUILTIN_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


async def ensure_builtin_objects(registry: GenericRegistry, resources: Registry, *,
                                 cluster_ip: str, advertise_ip: str, port: int) -> None:
    namespaces = _resource(resources, "namespaces")
    for name in BUILTIN_NAMESPACES:
        await _create_if_absent(registry, namespaces, "", {"metadata": {"name": name}})
    await _create_if_absent(registry, _resource(resources, "services"), "default", {
        "metadata": {"name": "kubernetes", "labels": {
            "component": "apiserver", "provider": "kubernetes"}},
        "spec": {"clusterIP": cluster_ip, "ports": [
            {"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}]},
    })
    await _create_if_absent(registry, _resource(resources, "endpoints"), "default", {
        "metadata": {"name": "kubernetes", "labels": {
            "endpointslice.kubernetes.io/skip-mirror": "true"}},
        "subsets": [{"addresses": [{"ip": advertise_ip}],
                     "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}],
    })
    await _ensure_system_priority_classes(registry, resources)


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


def _resource(resources: Registry, plural: str) -> Any:
    info = resources.get("", "v1", plural)
    assert info is not None, f"core resource {plural} is not registered"
    return info


async def _create_if_absent(registry: GenericRegistry, info: Any, namespace: str,
                            obj: Object) -> None:
    if registry.cached(info, namespace, obj["metadata"]["name"]) is not None:
        return
    try:
        await registry.create(info, namespace, obj)
    except errors.StatusError as exc:
        if exc.reason != "AlreadyExists":
            raise
