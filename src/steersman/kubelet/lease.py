"""Create or renew a node's Lease with one conditional write (kubelet's lease controller).

:func:`write_lease` keeps the resourceVersion of its last write on the holder, so a
renewal is one conditional PUT; it re-reads only after a conflict, and re-creates the
Lease when someone deleted it. Hollow nodes and the agent both hold a :class:`LeaseHolder`.
"""

from __future__ import annotations

from typing import Protocol

from steersman.api.errors import StatusError
from steersman.client import LEASES, Client
from steersman.kubelet.node_status import LEASE_NAMESPACE, build_lease


class LeaseHolder(Protocol):
    """The node whose Lease is written: its name, its Node's UID, the last version."""

    @property
    def name(self) -> str: ...

    uid: str
    lease_version: str


async def write_lease(client: Client, node: LeaseHolder, *, duration_seconds: int,
                      now_seconds: float) -> None:
    """Renew (or create) the node's Lease with ``renewTime`` = now."""
    if not node.lease_version:
        await _create_lease(client, node, duration_seconds, now_seconds)
        return
    try:
        await _put_lease(client, node, duration_seconds, now_seconds)
    except StatusError as err:
        if err.code == 404:
            node.lease_version = ""
            await _create_lease(client, node, duration_seconds, now_seconds)
        elif err.code == 409:
            await _refresh_version(client, node)
            await _put_lease(client, node, duration_seconds, now_seconds)
        else:
            raise


async def _create_lease(client: Client, node: LeaseHolder, duration: int, now: float) -> None:
    lease = build_lease(node.name, node_uid=node.uid, duration_seconds=duration,
                        now_seconds=now)
    try:
        created = await client.create(LEASES, lease)
    except StatusError as err:
        if err.code != 409:
            raise
        await _refresh_version(client, node)
        await _put_lease(client, node, duration, now)
        return
    node.lease_version = str(created["metadata"]["resourceVersion"])


async def _put_lease(client: Client, node: LeaseHolder, duration: int, now: float) -> None:
    lease = build_lease(node.name, node_uid=node.uid, duration_seconds=duration,
                        now_seconds=now, resource_version=node.lease_version)
    written = await client.update(LEASES, lease)
    node.lease_version = str(written["metadata"]["resourceVersion"])


async def _refresh_version(client: Client, node: LeaseHolder) -> None:
    current = await client.get(LEASES, node.name, namespace=LEASE_NAMESPACE)
    node.lease_version = str(current["metadata"]["resourceVersion"])
