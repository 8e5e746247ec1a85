"""What a pod's containers read from the API: ConfigMaps, Secrets, claims, Services, tokens.

:func:`fetch_env_inputs` GETs the ConfigMaps, Secrets and PersistentVolumeClaims the pod
refers to and the PersistentVolumes those claims are bound to (a missing one is simply
absent; the env and volume builders decide whether that is an error) and lists
the Services of the pod's namespace plus ``default/kubernetes`` for the service
variables. :class:`TokenRequests` asks ``serviceaccounts/<name>/token`` for tokens bound
to the pod and caches each until 80 % of its lifetime has passed (the kubelet's token
manager).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steersman.api.errors import StatusError
from steersman.api.meta import parse_time
from steersman.api.volumes import claim_volume_names
from steersman.client import (
    CONFIGMAPS,
    PVCS,
    PVS,
    SECRETS,
    SERVICEACCOUNTS,
    SERVICES,
    Client,
    Clock,
    Resource,
)
from steersman.kubelet.agent.downward import PodAddresses
from steersman.kubelet.agent.env import EnvInputs, referenced_names

Object = dict[str, Any]
REFRESH_AT = 0.8


async def fetch_env_inputs(reads: CachedReads, pod: Object, addresses: PodAddresses,
                           allocatable: Mapping[str, str]) -> EnvInputs:
    namespace = str(pod["metadata"]["namespace"])
    configmap_names, secret_names = referenced_names(pod)
    configmaps = {n: o for n in configmap_names
                  if (o := await reads.get(CONFIGMAPS, namespace, n)) is not None}
    secrets = {n: o for n in secret_names
               if (o := await reads.get(SECRETS, namespace, n)) is not None}
    claims = {n: o for _, n in claim_volume_names(pod)
              if (o := await reads.get(PVCS, namespace, n)) is not None}
    bound = {str(c["spec"]["volumeName"]) for c in claims.values()
             if (c.get("spec") or {}).get("volumeName")}
    volumes = {n: o for n in bound if (o := await reads.get(PVS, "", n)) is not None}
    services: list[Object] = []
    if (pod.get("spec") or {}).get("enableServiceLinks", True) is not False:
        services = await reads.services(namespace)
    if namespace != "default":
        master = await reads.get(SERVICES, "default", "kubernetes")
        services += [master] if master is not None else []
    return EnvInputs(addresses=addresses, configmaps=configmaps, secrets=secrets,
                     services=tuple(services), allocatable=allocatable, claims=claims,
                     persistent_volumes=volumes)


class CachedReads:
    """GETs and Service lists through the API, each answer kept ``ttl`` seconds."""

    def __init__(self, client: Client, *, clock: Clock, ttl: float = 2.0) -> None:
        self._client = client
        self._clock = clock
        self._ttl = ttl
        self._objects: dict[tuple[str, str, str], tuple[float, Object | None]] = {}
        self._services: dict[str, tuple[float, list[Object]]] = {}

    async def get(self, resource: Resource, namespace: str, name: str) -> Object | None:
        """The object, or ``None`` when it does not exist."""
        key = (resource.plural, namespace, name)
        cached = self._objects.get(key)
        if cached is not None and self._clock.now() < cached[0]:
            return cached[1]
        read_at = self._clock.now()
        try:
            found: Object | None = await self._client.get(resource, name, namespace=namespace)
        except StatusError as err:
            if err.code != 404:
                raise
            found = None
        self._objects[key] = (read_at + self._ttl, found)
        return found

    async def services(self, namespace: str) -> list[Object]:
        cached = self._services.get(namespace)
        if cached is not None and self._clock.now() < cached[0]:
            return list(cached[1])
        read_at = self._clock.now()
        items = list((await self._client.list(SERVICES, namespace=namespace)).get("items") or [])
        self._services[namespace] = (read_at + self._ttl, items)
        self._expire(read_at)
        return list(items)

    def _expire(self, now: float) -> None:
        # Bounded memory: drop what has expired whenever a list is refreshed.
        for key in [k for k, (until, _) in self._objects.items() if until <= now]:
            del self._objects[key]
        for namespace in [n for n, (until, _) in self._services.items() if until <= now]:
            del self._services[namespace]


class TokenRequests:
    """Service-account tokens bound to pods, cached until 80 % of their lifetime."""

    def __init__(self, client: Client, *, clock: Clock) -> None:
        self._client = client
        self._clock = clock
        self._cache: dict[tuple[str, str, int], tuple[str, float]] = {}

    async def token(self, pod: Object, *, audience: str, expiration_seconds: int) -> str:
        key = (str(pod["metadata"]["uid"]), audience, expiration_seconds)
        cached = self._cache.get(key)
        if cached is not None and self._clock.now() < cached[1]:
            return cached[0]
        token, refresh_at = await self._request(pod, audience, expiration_seconds)
        self._cache[key] = (token, refresh_at)
        return token

    def forget(self, uid: str) -> None:
        for key in [key for key in self._cache if key[0] == uid]:
            del self._cache[key]

    async def _request(self, pod: Object, audience: str, expiration: int) -> tuple[str, float]:
        metadata = pod["metadata"]
        account = str((pod.get("spec") or {}).get("serviceAccountName") or "default")
        body: Object = {
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"audiences": [audience] if audience else [],
                     "expirationSeconds": expiration,
                     "boundObjectRef": {"apiVersion": "v1", "kind": "Pod",
                                        "name": metadata["name"], "uid": metadata["uid"]}},
        }
        issued = self._clock.now()
        answer = await self._client.post_subresource(SERVICEACCOUNTS, account, "token", body,
                                                     namespace=str(metadata["namespace"]))
        status = answer.get("status") or {}
        expires = status.get("expirationTimestamp")
        lifetime = (parse_time(str(expires)).timestamp() - issued) if expires else expiration
        return str(status.get("token") or ""), issued + REFRESH_AT * lifetime
