"""One hollow node's identity and state, and the writes that put it on the API server.

:func:`new_hollow_node` derives a node's name, address, pod range and zone from its index;
:func:`register` creates the Node with its status (as a kubelet does) or, when a Node of
that name exists, resumes it — a fresh status, labels and spec kept as they are;
:func:`~steersman.kubelet.lease.write_lease` (shared with the agent) then keeps its Lease.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass

from steersman.api.errors import StatusError
from steersman.client import NODES, Client
from steersman.kubelet.addresses import PodAddressPool
from steersman.kubelet.hollow.config import HollowConfig, pod_cidr
from steersman.kubelet.hollow.node_object import NodeIdentity, build_node, resumed_node

_RESUME_ATTEMPTS = 5


@dataclass(slots=True)
class HollowNode:
    """The mutable state of one simulated node."""

    identity: NodeIdentity
    pool: PodAddressPool
    uid: str = ""
    lease_version: str = ""
    ready_since: str = ""
    lease_failures: int = 0

    @property
    def name(self) -> str:
        return self.identity.name


def new_hollow_node(config: HollowConfig, index: int, rng: random.Random) -> HollowNode:
    """Node ``index`` of ``config``, with a fresh boot ID drawn from ``rng``."""
    network = pod_cidr(config.pod_cidr_base, index)
    pool = PodAddressPool(network)
    boot_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    identity = NodeIdentity(config.node_name(index), pool.node_ip, str(network), boot_id,
                            config.zone(index))
    return HollowNode(identity, pool)


async def register(client: Client, config: HollowConfig, node: HollowNode, now: str) -> None:
    """Create the Node (status included), or resume the existing one."""
    try:
        created = await client.create(NODES, build_node(config, node.identity, now))
    except StatusError as err:
        if err.code != 409:
            raise
        created = await _resume(client, config, node, now)
    node.uid = str(created["metadata"].get("uid") or "")
    node.ready_since = now


async def _resume(client: Client, config: HollowConfig, node: HollowNode,
                  now: str) -> dict[str, object]:
    """PUT a fresh status onto the existing Node, retrying on write conflicts."""
    for _ in range(_RESUME_ATTEMPTS):
        existing = await client.get(NODES, node.name)
        try:
            return await client.update_status(
                NODES, resumed_node(existing, config, node.identity, now))
        except StatusError as err:
            if err.code != 409:
                raise
    raise RuntimeError(f"node {node.name}: status kept conflicting after "
                       f"{_RESUME_ATTEMPTS} attempts")
