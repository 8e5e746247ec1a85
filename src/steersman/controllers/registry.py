"""The one wiring point of the controller manager: controller name → constructor.

``--controllers`` on ``steersman server`` picks from these names (``*`` = all, ``-name``
disables one), as kube-controller-manager's flag of the same name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from steersman.client import Client, Clock
from steersman.controllers.certificates import (
    ClusterSigning,
    CSRApprovingController,
    CSRCleanerController,
    CSRSigningController,
)
from steersman.controllers.cronjob import CronJobController
from steersman.controllers.daemonset import DaemonSetController
from steersman.controllers.deployment import DeploymentController
from steersman.controllers.disruption import DisruptionController
from steersman.controllers.endpoints import EndpointsController
from steersman.controllers.endpointslice import EndpointSliceController
from steersman.controllers.garbagecollector import GarbageCollector
from steersman.controllers.horizontalpodautoscaler import HorizontalPodAutoscalerController
from steersman.controllers.job import JobController
from steersman.controllers.namespace import NamespaceController
from steersman.controllers.nodelifecycle import NodeLifecycleController, TaintEvictionController
from steersman.controllers.replicaset import ReplicaSetController, ReplicationManager
from steersman.controllers.runtime import QueueController
from steersman.controllers.serviceaccount import ServiceAccountController
from steersman.controllers.servicelb import DEFAULT_LB_POOL, ServiceLBController
from steersman.controllers.statefulset import StatefulSetController
from steersman.controllers.ttlafterfinished import TTLAfterFinishedController
from steersman.controllers.volume import (
    LocalPathProvisioner,
    PersistentVolumeBinderController,
    PVCProtectionController,
)

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
    "horizontalpodautoscaling": lambda client, clock: HorizontalPodAutoscalerController(
        client, clock=clock),
    "csrapproving": lambda client, clock: CSRApprovingController(client, clock=clock),
    "csrcleaner": lambda client, clock: CSRCleanerController(client, clock=clock),
    "persistentvolume-binder": lambda client, clock: PersistentVolumeBinderController(
        client, clock=clock),
    "pvc-protection": lambda client, clock: PVCProtectionController(client, clock=clock),
}
SIGNING = "csrsigning"
"""Runs only with the cluster CA (``cluster_signing``), as kube-controller-manager's
``csrsigning`` needs ``--cluster-signing-cert-file`` and ``-key-file``."""
SERVICE_LB = "servicelb"
"""The cloud-controller role for LoadBalancer Services: addresses of ``lb_pool``."""
LOCAL_PATH = "local-path-provisioner"
"""Runs only where volume directories can live (``local_path_root``: the server's
``<data dir>/volumes``), as k3s runs its local-path provisioner."""


def build_controllers(client: Client, selection: Sequence[str] = ("*",), *,
                      clock: Clock | None = None,
                      cluster_signing: ClusterSigning | None = None,
                      lb_pool: str = DEFAULT_LB_POOL,
                      local_path_root: Path | None = None) -> list[QueueController]:
    """The controllers named by ``selection`` in registry order."""
    known = (*CONTROLLERS, SIGNING, SERVICE_LB, LOCAL_PATH)
    unknown = [s.lstrip("-") for s in selection if s.lstrip("-") not in (*known, "*")]
    if unknown:
        raise ValueError(f"unknown controllers: {', '.join(unknown)}; "
                         f"known: {', '.join(known)}")
    disabled = {s[1:] for s in selection if s.startswith("-")}
    wanted = set(known) if "*" in selection else {
        s for s in selection if not s.startswith("-")}
    wanted -= disabled
    controllers = [factory(client, clock) for name, factory in CONTROLLERS.items()
                   if name in wanted]
    if SIGNING in wanted and cluster_signing is not None:
        controllers.append(CSRSigningController(client, cluster_signing, clock=clock))
    if SERVICE_LB in wanted:
        controllers.append(ServiceLBController(client, pool=lb_pool, clock=clock))
    if LOCAL_PATH in wanted and local_path_root is not None:
        controllers.append(LocalPathProvisioner(client, root=local_path_root, clock=clock))
    return controllers
