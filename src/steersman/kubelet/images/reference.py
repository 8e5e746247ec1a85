"""Image references, parsed and normalised the way docker and the kubelet do.

``busybox`` → ``docker.io/library/busybox:latest``; ``localhost:5000/x@sha256:…`` keeps
its digest and gets no tag; ``127.0.0.1:5000/a/b:v1`` keeps its registry. The first path
component is a registry when it holds a ``.`` or a ``:`` or is ``localhost``
(``distribution/reference``'s rule). Parsing is pure; :class:`Reference` is a value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from steersman.kubelet.images.errors import InvalidReference

DOCKER_HUB = "docker.io"
_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_DOMAIN = re.compile(r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?\.?)+(?::[0-9]+)?"
                     r"|\[[0-9a-fA-F:]+\](?::[0-9]+)?")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})")


@dataclass(frozen=True, slots=True)
class Reference:
    """A normalised image reference: registry domain, repository path, tag and/or digest."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def repository(self) -> str:
        """``domain/path``, e.g. ``docker.io/library/busybox``."""
        return f"{self.domain}/{self.path}"

    @property
    def target(self) -> str:
        """What to ask the registry for: the digest when pinned, else the tag."""
        return self.digest or self.tag or "latest"

    def with_digest(self, digest: str) -> str:
        """``repository@digest``: the kubelet's imageID form."""
        return f"{self.repository}@{digest}"

    def __str__(self) -> str:
        text = self.repository
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_reference(image: str) -> Reference:
    """Parse and normalise ``image``; raise :class:`InvalidReference` with the reason."""
    if not image or image != image.strip():
        raise InvalidReference(f"invalid reference format: {image!r}")
    remainder, digest = _split_digest(image)
    remainder, tag = _split_tag(remainder)
    domain, path = _split_domain(remainder)
    _check_path(image, path)
    if tag is None and digest is None:
        tag = "latest"
    return Reference(domain=domain, path=path, tag=tag, digest=digest)


def normalize(image: str) -> str:
    """The canonical string of ``image`` (``busybox`` → ``docker.io/library/busybox:latest``)."""
    return str(parse_reference(image))


def _split_digest(image: str) -> tuple[str, str | None]:
    name, at, digest = image.partition("@")
    if not at:
        return image, None
    if not _DIGEST.fullmatch(digest):
        raise InvalidReference(f"invalid reference format: bad digest in {image!r}")
    return name, digest


def _split_tag(name: str) -> tuple[str, str | None]:
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon <= slash:
        return name, None
    tag = name[colon + 1:]
    if not _TAG.fullmatch(tag):
        raise InvalidReference(f"invalid reference format: bad tag {tag!r}")
    return name[:colon], tag


def _split_domain(name: str) -> tuple[str, str]:
    first, slash, rest = name.partition("/")
    if not (slash and ("." in first or ":" in first or first == "localhost")):
        first, rest = DOCKER_HUB, name
    elif not _DOMAIN.fullmatch(first):
        raise InvalidReference(f"invalid reference format: bad registry {first!r}")
    if first in ("index.docker.io", DOCKER_HUB):
        first = DOCKER_HUB
        rest = rest if "/" in rest else f"library/{rest}"
    return first, rest


def _check_path(image: str, path: str) -> None:
    if path.lower() != path:
        raise InvalidReference(
            f"invalid reference format: repository name must be lowercase: {image!r}")
    components = path.split("/")
    if not all(_PATH_COMPONENT.fullmatch(part) for part in components) or len(path) > 255:
        raise InvalidReference(f"invalid reference format: {image!r}")
