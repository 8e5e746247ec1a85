"""The one wiring point of the controller manager: controller name → constructor.

``--controllers`` on ``steersman server`` picks from these names (``*`` = all, ``-name``
disables one), as kube-controller-manager's flag of the same name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from steersman.client import Client, Clock
from steersman.controllers.cronjob import CronJobController
from steersman.controllers.daemonset import DaemonSetController
from steersman.controllers.deployment import DeploymentController
from steersman.controllers.disruption import DisruptionController
from steersman.controllers.endpoints import EndpointsController
from steersman.controllers.endpointslice import EndpointSliceController
from steersman.controllers.garbagecollector import GarbageCollector
from steersman.controllers.job import JobController
from steersman.controllers.namespace import NamespaceController
from steersman.controllers.nodelifecycle import NodeLifecycleController, TaintEvictionController
from steersman.controllers.replicaset import ReplicaSetController, ReplicationManager
from steersman.controllers.runtime import QueueController
from steersman.controllers.serviceaccount import ServiceAccountController
from steersman.controllers.statefulset import StatefulSetController
from steersman.controllers.ttlafterfinished import TTLAfterFinishedController

Factory = Callable[[Client, Clock | None], QueueController]

CONTROLLERS: dict[str, Factory] = {
    "replicaset": lambda client, clock: ReplicaSetController(client, clock=clock),
    "replicationcontroller": lambda client, clock: ReplicationManager(client, clock=clock),
    "deployment": lambda client, clock: DeploymentController(client, clock=clock),
    "garbagecollector": lambda client, clock: GarbageCollector(client, clock=clock),
    "namespace": lambda client, clock: NamespaceController(client, clock=clock),
    "endpointslice": lambda client, clock: EndpointSliceController(client, clock=clock),
    "endpoints": lambda client, clock: EndpointsController(client, clock=clock),
    "serviceaccount": lambda client, clock: ServiceAccountController(client, clock=clock),
    "nodelifecycle": lambda client, clock: NodeLifecycleController(client, clock=clock),
    "taint-eviction": lambda client, clock: TaintEvictionController(client, clock=clock),
    "disruption": lambda client, clock: DisruptionController(client, clock=clock),
    "daemonset": lambda client, clock: DaemonSetController(client, clock=clock),
    "statefulset": lambda client, clock: StatefulSetController(client, clock=clock),
    "job": lambda client, clock: JobController(client, clock=clock),
    "ttlafterfinished": lambda client, clock: TTLAfterFinishedController(client, clock=clock),
    "cronjob": lambda client, clock: CronJobController(client, clock=clock),
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
