"""The one wiring point of the controller manager: controller name → constructor.

``--controllers`` on ``steersman server`` picks from these names (``*`` = all, ``-name``
disables one), as kube-controller-manager's flag of the same name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from steersman.client import Client, Clock
from steersman.controllers.garbagecollector import GarbageCollector
from steersman.controllers.namespace import NamespaceController
from steersman.controllers.replicaset import ReplicaSetController, ReplicationManager
from steersman.controllers.runtime import QueueController

Factory = Callable[[Client, Clock | None], QueueController]

CONTROLLERS: dict[str, Factory] = {
    "replicaset": lambda client, clock: ReplicaSetController(client, clock=clock),
    "replicationcontroller": lambda client, clock: ReplicationManager(client, clock=clock),
    "garbagecollector": lambda client, clock: GarbageCollector(client, clock=clock),
    "namespace": lambda client, clock: NamespaceController(client, clock=clock),
}


def build_controllers(client: Client, selection: Sequence[str] = ("*",), *,
                      clock: Clock | None = None) -> list[QueueController]:
    """The controllers named by ``selection`` in registry order."""
    unknown = [s.lstrip("-") for s in selection if s.lstrip("-") not in (*CONTROLLERS, "*")]
    if unknown:
        raise ValueError(f"unknown controllers: {', '.join(unknown)}; "
                         f"known: {', '.join(CONTROLLERS)}")
    disabled = {s[1:] for s in selection if s.startswith("-")}
    wanted = set(CONTROLLERS) if "*" in selection else {
        s for s in selection if not s.startswith("-")}
    return [factory(client, clock) for name, factory in CONTROLLERS.items()
            if name in wanted - disabled]
