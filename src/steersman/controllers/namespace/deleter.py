"""Emptying a terminating namespace: one pass over every namespaced, deletable resource.

For each resource discovery lists with ``list`` and ``delete`` (custom resources
included), :func:`delete_content` deletes the namespace's objects — with one
``deletecollection`` where the resource supports it, else one DELETE per object — in the
background propagation policy and with each object's own grace period (pods on a node
terminate gracefully), then lists what is still there. Resources are emptied
concurrently. The result is a :class:`~.conditions.ContentReport`; the controller decides
whether to look again or to finalize.

kube's counterpart: ``pkg/controller/namespace/deletion/namespaced_resources_deleter.go``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from steersman.api.errors import StatusError
from steersman.client import APIResource, Client, Discovery, Resource
from steersman.controllers.namespace.conditions import ContentReport

Object = dict[str, Any]
BACKGROUND = "Background"


@dataclass(frozen=True)
class ResourceContent:
    """What one resource still holds in the namespace after a deletion pass."""

    label: str
    items: Sequence[Object] = ()
    failure: str = ""


async def delete_content(client: Client, namespace: str, discovery: Discovery) -> ContentReport:
    """Delete everything in ``namespace``; report what remains."""
    targets = discovery.with_verbs("list", "delete", namespaced=True)
    contents = await asyncio.gather(*(_empty(client, t, namespace) for t in targets))
    return _report(contents, discovery)


def _report(contents: Sequence[ResourceContent], discovery: Discovery) -> ContentReport:
    remaining = {c.label: len(c.items) for c in contents if c.items}
    finalizers = Counter(f for c in contents for item in c.items
                         for f in (item.get("metadata") or {}).get("finalizers") or ())
    failures = tuple(c.failure for c in contents if c.failure)
    return ContentReport(remaining, dict(finalizers), failures, dict(discovery.failed))


async def _empty(client: Client, target: APIResource, namespace: str) -> ResourceContent:
    resource = target.resource
    label = f"{resource.plural}.{resource.group}"
    try:
        if target.supports("deletecollection"):
            await client.delete_collection(resource, namespace=namespace,
                                           propagation_policy=BACKGROUND)
        else:
            await _delete_each(client, resource, namespace)
        listed = await client.list_all(resource, namespace=namespace)
    except StatusError as err:
        return ResourceContent(label, failure=f"{label}: {err.message}")
    return ResourceContent(label, tuple(listed.get("items") or ()))


async def _delete_each(client: Client, resource: Resource, namespace: str) -> None:
    listed = await client.list_all(resource, namespace=namespace)
    names = [item["metadata"]["name"] for item in listed.get("items") or ()
             if not item["metadata"].get("deletionTimestamp")]
    await asyncio.gather(*(_delete_one(client, resource, namespace, name) for name in names))


async def _delete_one(client: Client, resource: Resource, namespace: str, name: str) -> None:
    try:
        await client.delete(resource, name, namespace=namespace, propagation_policy=BACKGROUND)
    except StatusError as err:
        if err.code != 404:
            raise
