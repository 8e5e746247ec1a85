"""steersman.kubelet.images: the node's images — store, registry pulls, imports, policy.

* :mod:`.reference` — docker-style references (``busybox`` → ``docker.io/library/busybox:latest``).
* :mod:`.blobs` — content-addressed, verified, atomically written blobs.
* :mod:`.manifests` — OCI / Docker manifests, indexes, configs; platform selection.
* :mod:`.layers` — applying layers to a rootfs (whiteouts, safe paths, owners).
* :mod:`.rootfs` — a container's writable rootfs: overlayfs over the image's, or a copy.
* :mod:`.store` — image records, unpacked rootfs per image, leases, garbage collection.
* :mod:`.credentials`, :mod:`.auth`, :mod:`.registry` — pulling over the v2 API with
  imagePullSecrets (anonymous, basic, bearer token).
* :mod:`.importer` — ``steersman image import`` of OCI layouts and docker-archives.
* :mod:`.policy`, :mod:`.manager` — imagePullPolicy, ImagePullBackOff and the kubelet's
  ``EnsureImageExists``.
* :mod:`.gc` — removing least recently used images when the image disk is 85 % full.

The OCI runtimes use :meth:`ImageStore.prepare_rootfs` / :meth:`ImageStore.release_rootfs`
and :meth:`ImageStore.config` (``kubelet.runtime.image_rootfs``); the pod workers use
:class:`ImageManager` (``kubelet.agent.image_pulls``). The process runtime uses none of
it. This package imports nothing of the agent or the runtimes.
"""

from steersman.kubelet.images.credentials import Credential, credentials_from_secret
from steersman.kubelet.images.errors import ImageError, ImageNotFound, PullError
from steersman.kubelet.images.importer import import_archive
from steersman.kubelet.images.manager import Ensured, ImageEvent, ImageManager, Puller
from steersman.kubelet.images.manifests import ImageConfig, Platform, host_platform
from steersman.kubelet.images.policy import PullBackoff, PullPolicy, pull_policy
from steersman.kubelet.images.reference import Reference, normalize, parse_reference
from steersman.kubelet.images.registry import RegistryClient
from steersman.kubelet.images.store import ImageRecord, ImageStore

__all__ = [
    "Credential", "Ensured", "ImageConfig", "ImageError", "ImageEvent", "ImageManager",
    "ImageNotFound", "ImageRecord", "ImageStore", "Platform", "PullBackoff", "PullError",
    "PullPolicy", "Puller", "Reference", "RegistryClient", "credentials_from_secret",
    "host_platform", "import_archive", "normalize", "parse_reference", "pull_policy",
]
