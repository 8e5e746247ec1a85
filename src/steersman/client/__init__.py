"""steersman.client: how every component other than the API server reaches cluster state.

* :mod:`.config` — kubeconfig (kubectl's rules) and in-cluster loading → :class:`ClientConfig`;
* :mod:`.rest` — :class:`Client`, the async REST verbs on :class:`Resource` descriptors,
  with :mod:`.transport` (throttling, retries) and :mod:`.watch` (watch streams);
* :mod:`.informer` and :mod:`.indexer` — list + watch into an indexed local cache;
* :mod:`.discovery` — which resources the server serves, with their verbs;
* :mod:`.workqueue` — the deduplicating, rate-limited queue of keys and :func:`run_workers`;
* :mod:`.leaderelection` — Lease-based leader election;
* :mod:`.clock` and :mod:`.ratelimit` — injectable time and the limiters built on it.

It sits beside the store, above :mod:`steersman.api`, and never imports the store or the
API server: it only speaks HTTP.
"""

from steersman.client.clock import Clock, FakeClock, SystemClock
from steersman.client.config import (
    ClientConfig,
    ConfigError,
    load_incluster_config,
    load_kubeconfig,
)
from steersman.client.discovery import APIResource, Discovery, discover
from steersman.client.errors import ResourceExpired, ServerUnreachable
from steersman.client.indexer import (
    NAMESPACE_INDEX,
    NODE_NAME_INDEX,
    OWNER_UID_INDEX,
    Indexer,
    IndexFunc,
    by_namespace,
    by_node_name,
    by_owner_uid,
    key_of,
)
from steersman.client.informer import Informer
from steersman.client.leaderelection import LeaderElector
from steersman.client.ratelimit import (
    ItemExponentialBackoff,
    ItemRateLimiter,
    MaxOfRateLimiter,
    TokenBucket,
    default_controller_rate_limiter,
)
from steersman.client.resource import (
    CONFIGMAPS,
    CONTROLLERREVISIONS,
    CRDS,
    CRONJOBS,
    DAEMONSETS,
    DEPLOYMENTS,
    ENDPOINTS,
    ENDPOINTSLICES,
    EVENTS,
    JOBS,
    LEASES,
    NAMESPACES,
    NODES,
    PDBS,
    PODS,
    PRIORITYCLASSES,
    PVCS,
    PVS,
    REPLICASETS,
    REPLICATIONCONTROLLERS,
    SECRETS,
    SERVICEACCOUNTS,
    SERVICES,
    STATEFULSETS,
    STORAGECLASSES,
    Resource,
)
from steersman.client.rest import Client, PatchType
from steersman.client.transport import RetryPolicy
from steersman.client.watch import WatchStream
from steersman.client.workqueue import QueueShutDown, WorkQueue, run_workers

__all__ = [
    "CONFIGMAPS", "CONTROLLERREVISIONS", "CRDS", "CRONJOBS", "DAEMONSETS", "DEPLOYMENTS",
    "ENDPOINTS", "ENDPOINTSLICES", "EVENTS", "JOBS", "LEASES", "NAMESPACES", "NODES", "PDBS",
    "PODS", "PRIORITYCLASSES", "PVCS", "PVS", "REPLICASETS", "REPLICATIONCONTROLLERS",
    "SECRETS", "SERVICEACCOUNTS",
    "SERVICES", "STATEFULSETS", "STORAGECLASSES",
    "NAMESPACE_INDEX", "NODE_NAME_INDEX", "OWNER_UID_INDEX",
    "APIResource", "Discovery", "discover",
    "Client", "ClientConfig", "Clock", "ConfigError", "FakeClock", "IndexFunc", "Indexer",
    "Informer", "ItemExponentialBackoff", "ItemRateLimiter", "LeaderElector",
    "MaxOfRateLimiter", "PatchType", "QueueShutDown", "Resource", "ResourceExpired",
    "RetryPolicy", "ServerUnreachable", "SystemClock", "TokenBucket", "WatchStream",
    "WorkQueue", "by_namespace", "by_node_name", "by_owner_uid",
    "default_controller_rate_limiter", "key_of", "load_incluster_config", "load_kubeconfig",
    "run_workers",
]
