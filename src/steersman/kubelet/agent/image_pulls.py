"""The images of a pod's containers, ensured before each container starts.

:class:`PodImages` is the kubelet's ``EnsureImageExists`` as the pod worker meets it, for
runtimes that run images (crun, runc; the process runtime has no image store and skips
all of this). For one container it:

* collects registry credentials from the pod's ``imagePullSecrets`` — or, when the pod
  names none, from its service account's (what upstream's ServiceAccount admission copies
  into the pod) — of type ``kubernetes.io/dockerconfigjson`` or ``kubernetes.io/dockercfg``;
  a missing or unreadable secret is a ``FailedToRetrieveImagePullSecret`` warning, not a
  failure, as in the kubelet;
* asks the :class:`~steersman.kubelet.images.ImageManager` to apply ``imagePullPolicy``
  (defaulted by the ``:latest`` rule) and the pull back-off, and records its events
  (Pulling, Pulled, Failed, BackOff, ErrImageNeverPull, InspectFailed);
* returns the image's ``repo@sha256:…`` (containerStatuses ``imageID``) and its config's
  ``User`` (for ``runAsNonRoot``, :mod:`.nonroot`), or raises
  :class:`~.downward.ContainerConfigError` with the waiting reason — ``ErrImagePull``,
  ``ImagePullBackOff``, ``ErrImageNeverPull``, ``InvalidImageName`` — and its message;
* after a pull, runs image garbage collection (:mod:`steersman.kubelet.images.gc`),
  keeping every image a container of this node still refers to.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from steersman.api.errors import StatusError
from steersman.client import SECRETS, SERVICEACCOUNTS, Client, Clock
from steersman.kubelet.agent.cri import Runtime
from steersman.kubelet.agent.downward import ContainerConfigError
from steersman.kubelet.agent.events import PodEventRecorder
from steersman.kubelet.images import (
    Credential,
    Ensured,
    ImageError,
    ImageManager,
    ImageRecord,
    ImageStore,
    Puller,
    PullPolicy,
    RegistryClient,
    credentials_from_secret,
    pull_policy,
)
from steersman.kubelet.images.gc import GCPolicy, collect_images

log = logging.getLogger(__name__)
Object = dict[str, Any]


@dataclass(frozen=True, slots=True)
class PulledImage:
    """An image ready for a container: ``repo@sha256:…`` and its config's ``User``."""

    ref: str
    user: str = ""


class SessionPuller:
    """A :class:`~steersman.kubelet.images.Puller` with one HTTP session per pull, so the
    agent holds no connection between pulls and has nothing to close at shutdown."""

    def __init__(self, store: ImageStore) -> None:
        self._store = store

    async def pull(self, image: str, *,
                   credentials: Sequence[Credential] = ()) -> ImageRecord:
        client = RegistryClient(self._store)
        try:
            return await client.pull(image, credentials=credentials)
        finally:
            await client.close()


class PodImages:
    """Ensures containers' images for the pod workers of one node."""

    def __init__(self, client: Client, runtime: Runtime, store: ImageStore, *,
                 events: PodEventRecorder, clock: Clock, gc: GCPolicy | None = None,
                 puller: Puller | None = None) -> None:
        self._client = client
        self._runtime = runtime
        self._clock = clock
        self._events = events
        self._gc = gc or GCPolicy()
        self.store = store
        self.manager = ImageManager(store=store, puller=puller or SessionPuller(store),
                                    clock=clock)

    async def ensure(self, pod: Object, container: Object) -> PulledImage:
        """The container's image on this node; raises ContainerConfigError."""
        image, name = str(container.get("image") or ""), str(container.get("name") or "")
        try:
            policy = pull_policy(image, container.get("imagePullPolicy"))
        except ValueError as err:
            raise ContainerConfigError(str(err)) from err
        key = f"{pod['metadata']['uid']}/{image}"
        credentials: list[Credential] = []
        if not self.manager.backoff.in_backoff(key) and await self._may_pull(image, policy):
            credentials = await self._credentials(pod, name)
        ensured = await self.manager.ensure(image, pull_policy=policy, credentials=credentials,
                                            backoff_key=key)
        await self._record(pod, name, ensured)
        if ensured.record is None:
            raise ContainerConfigError(ensured.message, reason=ensured.reason)
        if any(event.reason == "Pulling" for event in ensured.events):
            await self._collect_garbage()
        config = await asyncio.to_thread(self.store.config, ensured.record)
        return PulledImage(ref=ensured.record.image_id, user=config.user)

    def forget(self, uid: str) -> None:
        self.manager.backoff.forget_prefix(f"{uid}/")

    async def _record(self, pod: Object, container: str, ensured: Ensured) -> None:
        for event in ensured.events:
            await self._events.event(pod, container, event.type, event.reason, event.message)

    async def _may_pull(self, image: str, policy: PullPolicy) -> bool:
        """Whether this ensure can pull (only then are the pull secrets read)."""
        if policy is PullPolicy.ALWAYS:
            return True
        if policy is PullPolicy.NEVER:
            return False
        try:
            return await asyncio.to_thread(self.store.get, image) is None
        except ImageError:
            return False  # an invalid name: the manager reports InvalidImageName

    async def _credentials(self, pod: Object, container: str) -> list[Credential]:
        namespace = str(pod["metadata"]["namespace"])
        names = await self._secret_names(pod, namespace)
        credentials: list[Credential] = []
        missing: list[str] = []
        for name in names:
            try:
                secret = await self._client.get(SECRETS, name, namespace=namespace)
                credentials += credentials_from_secret(secret)
            except (StatusError, ImageError) as err:
                log.info("image pull secret %s/%s not used: %s", namespace, name, err)
                missing.append(name)
        if missing:
            await self._events.event(
                pod, container, "Warning", "FailedToRetrieveImagePullSecret",
                f"Unable to retrieve some image pull secrets ({', '.join(missing)}); "
                "attempting to pull the image may not succeed.")
        return credentials

    async def _secret_names(self, pod: Object, namespace: str) -> list[str]:
        spec = pod.get("spec") or {}
        refs = spec.get("imagePullSecrets") or []
        if not refs:
            account = str(spec.get("serviceAccountName") or "default")
            try:
                found = await self._client.get(SERVICEACCOUNTS, account, namespace=namespace)
            except StatusError as err:
                if err.code != 404:
                    raise
                found = {}
            refs = found.get("imagePullSecrets") or []
        return [str(ref["name"]) for ref in refs if isinstance(ref, dict) and ref.get("name")]

    async def _collect_garbage(self) -> None:
        in_use = {ref for c in await self._runtime.list_containers()
                  for ref in (c.image, c.image_ref) if ref}
        removed = await asyncio.to_thread(collect_images, self.store, in_use=in_use,
                                          now=self._clock.now(), policy=self._gc)
        for record in removed:
            log.info("image garbage collection removed %s (%d bytes)", record.name, record.size)
