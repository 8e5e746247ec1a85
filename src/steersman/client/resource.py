"""Which collection a request addresses: the :class:`Resource` descriptor and the built-ins.

A ``Resource`` is (group, version, plural, scope, kind) — enough to build every URL of
the Kubernetes REST layout (``/api/v1/...`` for the core group, ``/apis/<group>/<version>/...``
otherwise) without discovery. Custom resources get their own ``Resource`` value.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True, slots=True)
class Resource:
    """One REST collection, e.g. ``Resource("apps", "v1", "deployments", kind="Deployment")``."""

    group: str
    version: str
    plural: str
    namespaced: bool = True
    kind: str = ""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, *, namespace: str = "", name: str = "", subresource: str = "") -> str:
        """The URL path of the collection, one object, or one object's subresource."""
        root = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        parts = [root]
        if self.namespaced and namespace:
            parts.append(f"namespaces/{quote(namespace, safe='')}")
        parts.append(self.plural)
        if name:
            parts.append(quote(name, safe=""))
            if subresource:
                parts.append(subresource)
        elif subresource:
            raise ValueError(f"subresource {subresource!r} needs an object name")
        return "/".join(parts)


PODS = Resource("", "v1", "pods", kind="Pod")
NODES = Resource("", "v1", "nodes", namespaced=False, kind="Node")
NAMESPACES = Resource("", "v1", "namespaces", namespaced=False, kind="Namespace")
SERVICES = Resource("", "v1", "services", kind="Service")
ENDPOINTS = Resource("", "v1", "endpoints", kind="Endpoints")
EVENTS = Resource("", "v1", "events", kind="Event")
CONFIGMAPS = Resource("", "v1", "configmaps", kind="ConfigMap")
SECRETS = Resource("", "v1", "secrets", kind="Secret")
SERVICEACCOUNTS = Resource("", "v1", "serviceaccounts", kind="ServiceAccount")
REPLICATIONCONTROLLERS = Resource("", "v1", "replicationcontrollers",
                                  kind="ReplicationController")
PVCS = Resource("", "v1", "persistentvolumeclaims", kind="PersistentVolumeClaim")
PVS = Resource("", "v1", "persistentvolumes", namespaced=False, kind="PersistentVolume")
ENDPOINTSLICES = Resource("discovery.k8s.io", "v1", "endpointslices", kind="EndpointSlice")
DEPLOYMENTS = Resource("apps", "v1", "deployments", kind="Deployment")
REPLICASETS = Resource("apps", "v1", "replicasets", kind="ReplicaSet")
STATEFULSETS = Resource("apps", "v1", "statefulsets", kind="StatefulSet")
DAEMONSETS = Resource("apps", "v1", "daemonsets", kind="DaemonSet")
CONTROLLERREVISIONS = Resource("apps", "v1", "controllerrevisions", kind="ControllerRevision")
JOBS = Resource("batch", "v1", "jobs", kind="Job")
CRONJOBS = Resource("batch", "v1", "cronjobs", kind="CronJob")
LEASES = Resource("coordination.k8s.io", "v1", "leases", kind="Lease")
PDBS = Resource("policy", "v1", "poddisruptionbudgets", kind="PodDisruptionBudget")
PRIORITYCLASSES = Resource("scheduling.k8s.io", "v1", "priorityclasses", namespaced=False,
                           kind="PriorityClass")
STORAGECLASSES = Resource("storage.k8s.io", "v1", "storageclasses", namespaced=False,
                          kind="StorageClass")
CRDS = Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions", namespaced=False,
                kind="CustomResourceDefinition")
