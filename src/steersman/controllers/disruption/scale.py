"""The scale of the controllers that own a budget's pods, read through their ``/scale``.

Upstream's ``finders``: a pod's controller (its ``controller: true`` ownerReference) is a
ReplicaSet — counted as its Deployment when a Deployment controls it — a StatefulSet, a
Deployment or a ReplicationController; its ``spec.replicas`` comes from the ``/scale``
subresource, and the object found must have the UID the reference names. Each controller
counts once. Pods without a controller are skipped (upstream's ``UnmanagedPods``); a
controller that cannot be found is a :class:`ScaleLookupError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from steersman.api.errors import StatusError
from steersman.client import DEPLOYMENTS, REPLICASETS, STATEFULSETS, Client, Resource
from steersman.controllers.podstate import controller_of

Object = dict[str, Any]
REPLICATIONCONTROLLERS = Resource("", "v1", "replicationcontrollers",
                                  kind="ReplicationController")
SCALABLE = {("apps", "ReplicaSet"): REPLICASETS, ("apps", "Deployment"): DEPLOYMENTS,
            ("apps", "StatefulSet"): STATEFULSETS,
            ("", "ReplicationController"): REPLICATIONCONTROLLERS}


class ScaleLookupError(Exception):
    """The expected pod count cannot be computed; the message says which pod's controller."""


async def total_scale(client: Client, namespace: str, pods: Iterable[Object]) -> int:
    """The summed ``spec.replicas`` of the distinct controllers of ``pods``."""
    by_owner: dict[str, tuple[str, int]] = {}
    for pod in pods:
        ref = controller_of(pod)
        if ref is None or str(ref.get("uid")) in by_owner:
            continue
        found = await _controller_scale(client, namespace, ref)
        if found is None:
            raise ScaleLookupError(f'found no controllers for pod "{pod["metadata"]["name"]}"')
        by_owner[str(ref.get("uid"))] = found
    return sum(dict(by_owner.values()).values())


async def _controller_scale(client: Client, namespace: str,
                            ref: Mapping[str, Any]) -> tuple[str, int] | None:
    """(UID, replicas) of the controller ``ref`` names, a Deployment for its ReplicaSets."""
    key = (_group(ref), str(ref.get("kind")))
    if key == ("apps", "ReplicaSet"):
        replica_set = await _get(client, REPLICASETS, namespace, ref)
        owner = controller_of(replica_set) if replica_set is not None else None
        if owner is not None and (_group(owner), owner.get("kind")) == ("apps", "Deployment"):
            return await _scale(client, DEPLOYMENTS, namespace, owner)
    resource = SCALABLE.get(key)
    return None if resource is None else await _scale(client, resource, namespace, ref)


async def _scale(client: Client, resource: Resource, namespace: str,
                 ref: Mapping[str, Any]) -> tuple[str, int] | None:
    scale = await _get(client, resource, namespace, ref, subresource="scale")
    if scale is None:
        return None
    return str(ref.get("uid")), int((scale.get("spec") or {}).get("replicas") or 0)


async def _get(client: Client, resource: Resource, namespace: str, ref: Mapping[str, Any],
               subresource: str = "") -> Object | None:
    """The object (or its subresource) ``ref`` names, if it exists with that UID."""
    try:
        obj = await client.get(resource, str(ref.get("name")), namespace=namespace,
                               subresource=subresource)
    except StatusError as err:
        if err.code == 404:
            return None
        raise
    uid = (obj.get("metadata") or {}).get("uid")
    return obj if not uid or uid == ref.get("uid") else None


def _group(ref: Mapping[str, Any]) -> str:
    api_version = str(ref.get("apiVersion") or "")
    return api_version.rpartition("/")[0]
