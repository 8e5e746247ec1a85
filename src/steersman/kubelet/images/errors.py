"""The image package's errors: one hierarchy, each message written for the user to read.

:class:`ImageError` is the root. :class:`PullError` is what ``ErrImagePull`` shows
(``failed to pull image "x": manifest unknown``); :class:`InvalidReference` is an image name
that does not parse (the kubelet's ``InvalidImageName``); :class:`DigestMismatch` and
:class:`UnsafeLayer` say that content failed verification or tried to escape the rootfs;
:class:`ImageNotFound` is a lookup of an image the store does not hold; :class:`ArchiveError`
is an archive that ``steersman image import`` cannot read.
"""

from __future__ import annotations


class ImageError(Exception):
    """Any failure of the image store, the registry client or the importer."""


class InvalidReference(ImageError, ValueError):
    """An image reference that does not parse (``InvalidImageName``)."""


class DigestMismatch(ImageError):
    """Content whose digest or size differs from the one it was announced with."""


class UnsafeLayer(ImageError):
    """A layer entry that would land outside the rootfs (``..``, a symlink escape)."""


class ImageNotFound(ImageError):
    """The store holds no image under this reference."""


class ArchiveError(ImageError):
    """An archive that is neither an OCI layout nor a ``docker save`` tarball, or broken."""


class PullError(ImageError):
    """A failed pull, rendered as the kubelet shows it: ``failed to pull image "x": why``."""

    def __init__(self, image: str, reason: str, *, unauthorized: bool = False) -> None:
        super().__init__(f'failed to pull image "{image}": {reason}')
        self.image = image
        self.reason = reason
        self.unauthorized = unauthorized
