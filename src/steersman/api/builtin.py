"""The built-in resources kube-apiserver 1.32 serves, as registry entries.

Field selectors listed here are the extras beyond ``metadata.name`` and
``metadata.namespace``, which every resource supports.
"""

from __future__ import annotations

from steersman.api.resources import ALL_VERBS, Registry, ResourceInfo, Subresource, scale, status_of

_POD_FIELDS = (
    "spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
    "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName",
)
_EVENT_FIELDS = (
    "involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
    "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
    "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type",
)
_ALL = ("all",)
_CG = ("create", "get")
_C = ("create",)
_GPU = ("get", "patch", "update")
_PROXY = ("create", "delete", "get", "patch", "update")


def _r(
    group: str, version: str, kind: str, plural: str, *, namespaced: bool = True,
    short: tuple[str, ...] = (), categories: tuple[str, ...] = (),
    subresources: tuple[Subresource, ...] = (), fields: tuple[str, ...] = (),
    verbs: tuple[str, ...] | None = None,
) -> ResourceInfo:
    return ResourceInfo(
        group=group, version=version, kind=kind, plural=plural, singular=kind.lower(),
        namespaced=namespaced, short_names=short, categories=categories,
        subresources=subresources, field_selectors=fields,
        verbs=ALL_VERBS if verbs is None else verbs,
    )


def _core() -> list[ResourceInfo]:
    return [
        _r("", "v1", "Binding", "bindings", verbs=_C),
        _r("", "v1", "ConfigMap", "configmaps", short=("cm",)),
        _r("", "v1", "Endpoints", "endpoints", short=("ep",)),
        _r("", "v1", "Event", "events", short=("ev",), fields=_EVENT_FIELDS),
        _r("", "v1", "LimitRange", "limitranges", short=("limits",)),
        _r("", "v1", "Namespace", "namespaces", namespaced=False, short=("ns",),
           subresources=(status_of("Namespace"), Subresource("finalize", "Namespace", ("update",))),
           fields=("status.phase",),
           verbs=("create", "delete", "get", "list", "patch", "update", "watch")),
        _r("", "v1", "Node", "nodes", namespaced=False, short=("no",),
           subresources=(status_of("Node"), Subresource("proxy", "NodeProxyOptions", _PROXY)),
           fields=("spec.unschedulable",)),
        _r("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", short=("pvc",),
           subresources=(status_of("PersistentVolumeClaim"),)),
        _r("", "v1", "PersistentVolume", "persistentvolumes", namespaced=False, short=("pv",),
           subresources=(status_of("PersistentVolume"),)),
        _r("", "v1", "Pod", "pods", short=("po",), categories=_ALL, fields=_POD_FIELDS,
           subresources=(
               Subresource("attach", "PodAttachOptions", _CG),
               Subresource("binding", "Binding", _C),
               Subresource("ephemeralcontainers", "Pod", _GPU),
               Subresource("eviction", "Eviction", _C, "policy", "v1"),
               Subresource("exec", "PodExecOptions", _CG),
               Subresource("log", "Pod", ("get",)),
               Subresource("portforward", "PodPortForwardOptions", _CG),
               Subresource("proxy", "PodProxyOptions", _PROXY),
               status_of("Pod"),
           )),
        _r("", "v1", "PodTemplate", "podtemplates"),
        _r("", "v1", "ReplicationController", "replicationcontrollers", short=("rc",),
           categories=_ALL, subresources=(scale(), status_of("ReplicationController"))),
        _r("", "v1", "ResourceQuota", "resourcequotas", short=("quota",),
           subresources=(status_of("ResourceQuota"),)),
        _r("", "v1", "Secret", "secrets", fields=("type",)),
        _r("", "v1", "ServiceAccount", "serviceaccounts", short=("sa",),
           subresources=(
               Subresource("token", "TokenRequest", _C, "authentication.k8s.io", "v1"),)),
        _r("", "v1", "Service", "services", short=("svc",), categories=_ALL,
           subresources=(Subresource("proxy", "ServiceProxyOptions", _PROXY),
                         status_of("Service"))),
    ]


def _apps() -> list[ResourceInfo]:
    return [
        _r("apps", "v1", "ControllerRevision", "controllerrevisions"),
        _r("apps", "v1", "DaemonSet", "daemonsets", short=("ds",), categories=_ALL,
           subresources=(status_of("DaemonSet"),)),
        _r("apps", "v1", "Deployment", "deployments", short=("deploy",), categories=_ALL,
           subresources=(scale(), status_of("Deployment"))),
        _r("apps", "v1", "ReplicaSet", "replicasets", short=("rs",), categories=_ALL,
           subresources=(scale(), status_of("ReplicaSet")), fields=("status.replicas",)),
        _r("apps", "v1", "StatefulSet", "statefulsets", short=("sts",), categories=_ALL,
           subresources=(scale(), status_of("StatefulSet"))),
    ]


def _others() -> list[ResourceInfo]:
    return [
        _r("batch", "v1", "CronJob", "cronjobs", short=("cj",), categories=_ALL,
           subresources=(status_of("CronJob"),)),
        _r("batch", "v1", "Job", "jobs", categories=_ALL, subresources=(status_of("Job"),),
           fields=("status.successful",)),
        _r("certificates.k8s.io", "v1", "CertificateSigningRequest",
           "certificatesigningrequests", namespaced=False, short=("csr",),
           subresources=(Subresource("approval", "CertificateSigningRequest", _GPU),
                         status_of("CertificateSigningRequest"))),
        _r("coordination.k8s.io", "v1", "Lease", "leases"),
        _r("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices",
           fields=("addressType",)),
        _r("events.k8s.io", "v1", "Event", "events", short=("ev",),
           fields=("reason", "regarding.kind", "regarding.name", "regarding.namespace",
                   "regarding.uid", "type", "reportingController")),
        _r("networking.k8s.io", "v1", "IngressClass", "ingressclasses", namespaced=False),
        _r("networking.k8s.io", "v1", "Ingress", "ingresses", short=("ing",),
           subresources=(status_of("Ingress"),)),
        _r("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", short=("netpol",)),
        _r("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", short=("pdb",),
           subresources=(status_of("PodDisruptionBudget"),)),
        _r("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", namespaced=False,
           short=("pc",)),
        _r("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings",
           namespaced=False),
        _r("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", namespaced=False),
        _r("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
        _r("rbac.authorization.k8s.io", "v1", "Role", "roles"),
        _r("apiextensions.k8s.io", "v1", "CustomResourceDefinition",
           "customresourcedefinitions", namespaced=False, short=("crd", "crds"),
           subresources=(status_of("CustomResourceDefinition"),)),
        _r("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers",
           short=("hpa",), categories=_ALL, subresources=(status_of("HorizontalPodAutoscaler"),)),
        _r("storage.k8s.io", "v1", "StorageClass", "storageclasses", namespaced=False,
           short=("sc",)),
    ]


def _reviews() -> list[ResourceInfo]:
    """Create-only questions, answered and never stored (``steersman.apiserver.reviews``)."""
    authn, authz = "authentication.k8s.io", "authorization.k8s.io"
    return [
        _r(authn, "v1", "SelfSubjectReview", "selfsubjectreviews", namespaced=False, verbs=_C),
        _r(authn, "v1", "TokenReview", "tokenreviews", namespaced=False, verbs=_C),
        _r(authz, "v1", "LocalSubjectAccessReview", "localsubjectaccessreviews", verbs=_C),
        _r(authz, "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews",
           namespaced=False, verbs=_C),
        _r(authz, "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", namespaced=False,
           verbs=_C),
        _r(authz, "v1", "SubjectAccessReview", "subjectaccessreviews", namespaced=False,
           verbs=_C),
    ]


def builtin_resources() -> list[ResourceInfo]:
    return _core() + _apps() + _others() + _reviews()


def builtin_registry() -> Registry:
    return Registry(builtin_resources())
