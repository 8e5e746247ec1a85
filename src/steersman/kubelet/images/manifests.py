"""OCI and Docker schema-2 manifests, indexes and image configs, parsed into values.

Both families are read: OCI (``application/vnd.oci.image.*``) and Docker
(``application/vnd.docker.distribution.manifest.v2+json`` and ``….list.v2+json``).
Docker schema 1 is rejected loudly. :func:`select_platform` picks the host's entry from an
index the way containerd's default platform matcher does (os, architecture, variant).
"""

from __future__ import annotations

import json
import platform as host
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from steersman.kubelet.images.errors import ImageError

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
ACCEPT = ", ".join((*INDEX_TYPES, *MANIFEST_TYPES))
MAX_MANIFEST_BYTES = 4 << 20  # containerd's limit too
LAYER_TYPES = frozenset({
    DOCKER_LAYER_TAR, DOCKER_LAYER_GZIP, OCI_LAYER_TAR, OCI_LAYER_GZIP,
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
})
_ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386",
                  "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


@dataclass(frozen=True, slots=True)
class Platform:
    os: str = "linux"
    architecture: str = "amd64"
    variant: str = ""

    def __str__(self) -> str:
        return "/".join(part for part in (self.os, self.architecture, self.variant) if part)


def host_platform() -> Platform:
    """This machine's platform in OCI terms (``x86_64`` → ``linux/amd64``)."""
    machine = host.machine()
    return Platform(architecture=_ARCHITECTURES.get(machine, machine),
                    variant="v7" if machine == "armv7l" else "")


@dataclass(frozen=True, slots=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: Platform | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


@dataclass(frozen=True, slots=True)
class Manifest:
    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]


@dataclass(frozen=True, slots=True)
class Index:
    media_type: str
    manifests: tuple[Descriptor, ...]


@dataclass(frozen=True, slots=True)
class ImageConfig:
    """What a container needs from the image config (``config.config`` and ``rootfs``)."""

    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    working_dir: str = ""
    user: str = ""
    diff_ids: tuple[str, ...] = ()


def parse_manifest(data: bytes, content_type: str = "") -> Manifest | Index:
    """Parse a manifest or index; the body's ``mediaType`` wins over the Content-Type."""
    document = _load(data, "manifest")
    media_type = str(document.get("mediaType") or content_type.split(";")[0].strip())
    if document.get("schemaVersion") == 1 or "prettyjws" in media_type:
        raise ImageError("Docker schema 1 manifests are not supported")
    if media_type in INDEX_TYPES or (media_type not in MANIFEST_TYPES and "manifests" in document):
        entries = tuple(_descriptor(entry) for entry in document.get("manifests") or ())
        return Index(media_type=media_type or OCI_INDEX, manifests=entries)
    if "config" not in document:
        raise ImageError(f"unsupported manifest media type {media_type!r}")
    layers = tuple(_descriptor(entry) for entry in document.get("layers") or ())
    for layer in layers:
        if layer.media_type not in LAYER_TYPES:
            raise ImageError(f"unsupported layer media type {layer.media_type!r}")
    return Manifest(media_type=media_type or OCI_MANIFEST,
                    config=_descriptor(document["config"]), layers=layers)


def select_platform(index: Index, wanted: Platform) -> Descriptor:
    """The index entry for ``wanted`` (an entry without a platform matches any)."""
    candidates = [entry for entry in index.manifests if entry.media_type not in INDEX_TYPES]
    for entry in candidates:
        if entry.platform is None or _matches(entry.platform, wanted):
            return entry
    available = ", ".join(sorted({str(entry.platform) for entry in candidates})) or "none"
    raise ImageError(f"no match for platform {wanted} in manifest list "
                     f"(available: {available})")


def parse_config(data: bytes) -> ImageConfig:
    """The runtime-relevant fields of an image config blob."""
    document = _load(data, "image config")
    config = document.get("config") or {}
    rootfs = document.get("rootfs") or {}
    return ImageConfig(entrypoint=tuple(config.get("Entrypoint") or ()),
                       cmd=tuple(config.get("Cmd") or ()), env=tuple(config.get("Env") or ()),
                       working_dir=str(config.get("WorkingDir") or ""),
                       user=str(config.get("User") or ""),
                       diff_ids=tuple(rootfs.get("diff_ids") or ()))


def _matches(have: Platform, wanted: Platform) -> bool:
    if (have.os, have.architecture) != (wanted.os, wanted.architecture):
        return False
    return not wanted.variant or have.variant in ("", wanted.variant)


def _descriptor(entry: Mapping[str, Any]) -> Descriptor:
    try:
        raw_platform = entry.get("platform")
        found = None if not raw_platform else Platform(
            os=str(raw_platform.get("os", "")),
            architecture=str(raw_platform.get("architecture", "")),
            variant=str(raw_platform.get("variant", "")))
        return Descriptor(media_type=str(entry.get("mediaType", "")),
                          digest=str(entry["digest"]), size=int(entry["size"]),
                          platform=found, annotations=dict(entry.get("annotations") or {}))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ImageError(f"malformed descriptor {entry!r}") from exc


def _load(data: bytes, what: str) -> dict[str, Any]:
    try:
        document = json.loads(data)
    except ValueError as exc:
        raise ImageError(f"malformed {what}: {exc}") from exc
    if not isinstance(document, dict):
        raise ImageError(f"malformed {what}: not a JSON object")
    return document
