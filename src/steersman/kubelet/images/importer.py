"""``steersman image import FILE``: load OCI image layouts and ``docker save`` tarballs.

* An **OCI image layout** tarball (``oci-layout``, ``index.json``, ``blobs/<alg>/<hex>``):
  every manifest in ``index.json`` is imported under its ``io.containerd.image.name`` or
  ``org.opencontainers.image.ref.name`` annotation, read as an image reference
  (``busybox`` → ``docker.io/library/busybox:latest``); an index entry that is itself an
  index contributes its host-platform manifest. Blobs are verified against their digests.
* A **docker-archive** (``manifest.json`` with ``Config``, ``RepoTags``, ``Layers``): the
  config and layers are stored as blobs and a Docker schema-2 manifest is written for them,
  so the image looks as if it had been pulled; each ``RepoTags`` entry becomes a name.

A layout that has both (``docker save`` since Docker 25) is read as an OCI layout. An image
without a name needs ``--tag``. The tarball may be gzip-compressed.
"""

from __future__ import annotations

import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from steersman.kubelet.images.blobs import BlobWriter, split_digest
from steersman.kubelet.images.errors import ArchiveError
from steersman.kubelet.images.manifests import (
    DOCKER_CONFIG,
    DOCKER_LAYER_GZIP,
    DOCKER_LAYER_TAR,
    DOCKER_MANIFEST,
    MAX_MANIFEST_BYTES,
    Descriptor,
    Index,
    Manifest,
    Platform,
    host_platform,
    parse_manifest,
    select_platform,
)
from steersman.kubelet.images.store import ImageRecord, ImageStore

NAME_ANNOTATIONS = ("io.containerd.image.name", "org.opencontainers.image.ref.name")


@dataclass(frozen=True, slots=True)
class _Found:
    names: tuple[str, ...]
    digest: str
    manifest_digest: str
    manifest: Manifest


def import_archive(store: ImageStore, path: Path, *, tag: str | None = None,
                   platform: Platform | None = None) -> list[ImageRecord]:
    """Import every image in the tarball at ``path``; return the records made."""
    try:
        with tarfile.open(path, mode="r:*") as archive, store.ingest():
            images = _read_images(_Archive(archive, store), path, platform or host_platform())
            if tag and len(images) > 1:
                raise ArchiveError(f"{path}: --tag needs an archive with exactly one image")
            records = [store.add(name, digest=image.digest, manifest=image.manifest,
                                 manifest_digest=image.manifest_digest)
                       for image in images for name in _names(image, tag, path)]
    except (tarfile.TarError, OSError, KeyError, TypeError, ValueError) as exc:
        raise ArchiveError(f"{path}: {exc}") from exc
    for record in records:
        store.rootfs(record)
    return records


def _read_images(reader: _Archive, path: Path, platform: Platform) -> list[_Found]:
    if reader.has("index.json"):
        return reader.oci(platform)
    if reader.has("manifest.json"):
        return reader.docker()
    raise ArchiveError(f"{path}: neither an OCI image layout (index.json) nor a "
                       "docker-archive (manifest.json)")


def _names(image: _Found, tag: str | None, path: Path) -> tuple[str, ...]:
    if tag:
        return (tag,)
    if not image.names:
        raise ArchiveError(f"{path}: image {image.digest} has no name; pass --tag REF")
    return image.names


class _Archive:
    """Members of one tarball, by normalised name, copied into the store on demand."""

    def __init__(self, archive: tarfile.TarFile, store: ImageStore) -> None:
        self._archive = archive
        self._store = store
        self._members = {member.name.removeprefix("./"): member for member in archive
                         if member.isfile()}

    def has(self, name: str) -> bool:
        return name in self._members

    def read(self, name: str) -> bytes:
        with self._open(name) as stream:
            return stream.read()

    def oci(self, platform: Platform) -> list[_Found]:
        index = parse_manifest(self.read("index.json"))
        if not isinstance(index, Index):
            raise ArchiveError("index.json is not an image index")
        return [self._oci_image(entry, platform) for entry in index.manifests]

    def docker(self) -> list[_Found]:
        entries: Any = json.loads(self.read("manifest.json"))
        if not isinstance(entries, list):
            raise ArchiveError("manifest.json is not a list")
        return [self._docker_image(entry) for entry in entries]

    def _oci_image(self, entry: Descriptor, platform: Platform) -> _Found:
        name = next((entry.annotations[key] for key in NAME_ANNOTATIONS
                     if key in entry.annotations), None)
        parsed = parse_manifest(self._copy_manifest(entry), entry.media_type)
        manifest_digest = entry.digest
        if isinstance(parsed, Index):
            chosen = select_platform(parsed, platform)
            manifest_digest = chosen.digest
            parsed = parse_manifest(self._copy_manifest(chosen), chosen.media_type)
        if not isinstance(parsed, Manifest):
            raise ArchiveError(f"{entry.digest}: nested index inside an index")
        for blob in (parsed.config, *parsed.layers):
            self._copy_blob(blob)
        return _Found((name,) if name else (), entry.digest, manifest_digest, parsed)

    def _copy_manifest(self, descriptor: Descriptor) -> bytes:
        if descriptor.size > MAX_MANIFEST_BYTES:
            raise ArchiveError(f"manifest {descriptor.digest} is larger than "
                               f"{MAX_MANIFEST_BYTES} bytes")
        self._copy_blob(descriptor)
        return self._store.blobs.read(descriptor.digest)

    def _copy_blob(self, descriptor: Descriptor) -> None:
        algorithm, hexdigest = split_digest(descriptor.digest)
        name = f"blobs/{algorithm}/{hexdigest}"
        if name not in self._members:
            raise ArchiveError(f"blob {descriptor.digest} is missing from the layout")
        with self._open(name) as stream:
            self._store.blobs.put_stream(stream, digest=descriptor.digest, size=descriptor.size)

    def _docker_image(self, entry: dict[str, Any]) -> _Found:
        config = self._store_member(str(entry["Config"]), DOCKER_CONFIG)
        layers = tuple(self._store_member(str(name), None) for name in entry["Layers"])
        document = {"schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
                    "config": config.to_json(), "layers": [lay.to_json() for lay in layers]}
        body = json.dumps(document, separators=(",", ":")).encode()
        digest = self._store.blobs.put(body)
        manifest = Manifest(media_type=DOCKER_MANIFEST, config=config, layers=layers)
        return _Found(tuple(entry.get("RepoTags") or ()), digest, digest, manifest)

    def _store_member(self, name: str, media_type: str | None) -> Descriptor:
        with self._open(name) as stream:
            magic = stream.read(2)
            writer = self._store.blobs.writer()
            with writer:
                _copy(magic, stream, writer)
                digest = writer.commit()
        if media_type is None:
            media_type = DOCKER_LAYER_GZIP if magic == b"\x1f\x8b" else DOCKER_LAYER_TAR
        return Descriptor(media_type=media_type, digest=digest,
                          size=self._store.blobs.size(digest))

    def _open(self, name: str) -> _MemberStream:
        member = self._members.get(name)
        if member is None:
            raise ArchiveError(f"{name} is missing from the archive")
        stream = self._archive.extractfile(member)
        if stream is None:
            raise ArchiveError(f"{name} is not a regular file")
        return _MemberStream(stream)


class _MemberStream:
    """A tar member's stream as a context manager (``extractfile`` gives a bare file)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def __enter__(self) -> IO[bytes]:
        return self._stream

    def __exit__(self, *exc: object) -> None:
        self._stream.close()


def _copy(head: bytes, stream: IO[bytes], writer: BlobWriter) -> None:
    writer.write(head)
    for chunk in iter(lambda: stream.read(1 << 20), b""):
        writer.write(chunk)
