"""Per-kind defaulting and validation: the strategies the generic registry calls.

:func:`strategy_for` maps ``(group, kind)`` to a :class:`~steersman.api.strategy.Strategy`;
kinds without rules get :class:`~steersman.api.strategy.NoStrategy`. One module per area
(``pods``, ``workloads``, ``batch``, ``services``, ``config``, ``cluster``, ``networking``,
``rbac``); all of them are pure and follow kube-apiserver's defaulters and validators, with its
field paths and messages.

Hooks the API server calls besides the Strategy protocol:

* :func:`default_job_selector` — after assigning a Job's ``metadata.uid`` on create;
* :func:`canonicalize_quantities` — with ``steersman.api.quantity.canonical_quantity``, after
  ``default``, to bring every quantity to its canonical string;
* :func:`patch_allocated_values` — on Service updates, before validation;
* :func:`qos_class` — a Pod's QoS class (``status.qosClass``).
"""

from __future__ import annotations

from steersman.api.strategies.apiextensions import CustomResourceDefinitionStrategy
from steersman.api.strategies.autoscaling import HorizontalPodAutoscalerStrategy
from steersman.api.strategies.batch import CronJobStrategy, JobStrategy, default_job_selector
from steersman.api.strategies.certificates import CertificateSigningRequestStrategy
from steersman.api.strategies.cluster import (
    EventStrategy,
    LeaseStrategy,
    LimitRangeStrategy,
    NamespaceStrategy,
    NodeStrategy,
    PersistentVolumeClaimStrategy,
    PersistentVolumeStrategy,
    PriorityClassStrategy,
    ResourceQuotaStrategy,
)
from steersman.api.strategies.config import (
    ConfigMapStrategy,
    SecretStrategy,
    ServiceAccountStrategy,
)
from steersman.api.strategies.networking import (
    IngressClassStrategy,
    IngressStrategy,
    NetworkPolicyStrategy,
    PodDisruptionBudgetStrategy,
)
from steersman.api.strategies.pods import PodStrategy, PodTemplateStrategy, qos_class
from steersman.api.strategies.quantities import canonicalize_quantities
from steersman.api.strategies.rbac import (
    ClusterRoleBindingStrategy,
    ClusterRoleStrategy,
    RoleBindingStrategy,
    RoleStrategy,
)
from steersman.api.strategies.services import (
    EndpointSliceStrategy,
    EndpointsStrategy,
    ServiceStrategy,
    patch_allocated_values,
)
from steersman.api.strategies.storage import StorageClassStrategy
from steersman.api.strategies.workloads import (
    DaemonSetStrategy,
    DeploymentStrategy,
    ReplicaSetStrategy,
    ReplicationControllerStrategy,
    StatefulSetStrategy,
)
from steersman.api.strategy import NoStrategy, Strategy

_RBAC = "rbac.authorization.k8s.io"
_NETWORKING = "networking.k8s.io"

_REGISTRY: dict[tuple[str, str], Strategy] = {
    ("", "Pod"): PodStrategy(),
    ("", "PodTemplate"): PodTemplateStrategy(),
    ("", "ReplicationController"): ReplicationControllerStrategy(),
    ("", "Service"): ServiceStrategy(),
    ("", "Endpoints"): EndpointsStrategy(),
    ("", "ConfigMap"): ConfigMapStrategy(),
    ("", "Secret"): SecretStrategy(),
    ("", "ServiceAccount"): ServiceAccountStrategy(),
    ("", "Namespace"): NamespaceStrategy(),
    ("", "Node"): NodeStrategy(),
    ("", "PersistentVolume"): PersistentVolumeStrategy(),
    ("", "PersistentVolumeClaim"): PersistentVolumeClaimStrategy(),
    ("", "ResourceQuota"): ResourceQuotaStrategy(),
    ("", "LimitRange"): LimitRangeStrategy(),
    ("", "Event"): EventStrategy(),
    ("apps", "Deployment"): DeploymentStrategy(),
    ("apps", "ReplicaSet"): ReplicaSetStrategy(),
    ("apps", "StatefulSet"): StatefulSetStrategy(),
    ("apps", "DaemonSet"): DaemonSetStrategy(),
    ("batch", "Job"): JobStrategy(),
    ("batch", "CronJob"): CronJobStrategy(),
    ("autoscaling", "HorizontalPodAutoscaler"): HorizontalPodAutoscalerStrategy(),
    ("discovery.k8s.io", "EndpointSlice"): EndpointSliceStrategy(),
    ("events.k8s.io", "Event"): EventStrategy(),
    ("coordination.k8s.io", "Lease"): LeaseStrategy(),
    ("certificates.k8s.io", "CertificateSigningRequest"): CertificateSigningRequestStrategy(),
    ("scheduling.k8s.io", "PriorityClass"): PriorityClassStrategy(),
    ("storage.k8s.io", "StorageClass"): StorageClassStrategy(),
    (_NETWORKING, "Ingress"): IngressStrategy(),
    (_NETWORKING, "IngressClass"): IngressClassStrategy(),
    (_NETWORKING, "NetworkPolicy"): NetworkPolicyStrategy(),
    ("policy", "PodDisruptionBudget"): PodDisruptionBudgetStrategy(),
    (_RBAC, "Role"): RoleStrategy(),
    (_RBAC, "ClusterRole"): ClusterRoleStrategy(),
    (_RBAC, "RoleBinding"): RoleBindingStrategy(),
    (_RBAC, "ClusterRoleBinding"): ClusterRoleBindingStrategy(),
    ("apiextensions.k8s.io", "CustomResourceDefinition"): CustomResourceDefinitionStrategy(),
}
_NONE = NoStrategy()


def strategy_for(group: str, kind: str) -> Strategy:
    """The strategy for a kind; :class:`NoStrategy` for kinds without kind-specific rules."""
    return _REGISTRY.get((group, kind), _NONE)


__all__ = [
    "canonicalize_quantities",
    "default_job_selector",
    "patch_allocated_values",
    "qos_class",
    "strategy_for",
]
