"""The node's image store: content-addressed blobs, image records and unpacked rootfs.

Layout under the store directory (``<data-dir>/agent/images`` by default):

* ``blobs/sha256/<hex>`` — manifests, configs and layers (:mod:`.blobs`);
* ``images.json`` — records: normalised name → manifest digest, config, layers, size,
  created and last-used times; rewritten atomically under ``images.lock``;
* ``rootfs/<layers key>`` — an image's layers applied in order, shared read-only by its
  containers (:mod:`.layers`), built in ``tmp/`` and renamed into place; the key is the
  sha256 of the layer digests, so images with the same layers share one directory;
* ``leases/<layers key>/<key>`` — which container directories use that rootfs
  (:func:`ImageStore.prepare_rootfs`), so that ``rm`` and :meth:`ImageStore.gc` never pull
  a rootfs from under a running container.

Writers of blobs (pulls, imports) hold ``ingest.lock`` shared; pruning unreferenced blobs
takes it exclusively and, when it is busy, leaves blobs for the next collection.
Methods block on the filesystem: the agent calls them through ``asyncio.to_thread``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from steersman.client import Clock, SystemClock
from steersman.kubelet.images import rootfs as rootfs_mounts
from steersman.kubelet.images.blobs import BlobStore
from steersman.kubelet.images.errors import ImageNotFound
from steersman.kubelet.images.layers import apply_layer
from steersman.kubelet.images.manifests import Descriptor, ImageConfig, Manifest, parse_config
from steersman.kubelet.images.reference import parse_reference


@dataclass(frozen=True, slots=True)
class ImageRecord:
    """One named image the node holds."""

    name: str
    digest: str
    manifest_digest: str
    media_type: str
    config_digest: str
    layers: tuple[Descriptor, ...]
    size: int
    created: float
    last_used: float

    @property
    def image_id(self) -> str:
        """``repository@digest``: what containerStatuses[].imageID shows."""
        return parse_reference(self.name).with_digest(self.digest)

    @property
    def rootfs_key(self) -> str:
        """Names the unpacked rootfs: the hex sha256 of the layer digests, in order."""
        return hashlib.sha256("\n".join(layer.digest for layer in self.layers)
                              .encode()).hexdigest()

    @property
    def blobs(self) -> tuple[str, ...]:
        return (self.digest, self.manifest_digest, self.config_digest,
                *(layer.digest for layer in self.layers))


class ImageStore:
    """Image records, blobs and rootfs directories under one directory."""

    def __init__(self, root: Path, *, clock: Clock | None = None) -> None:
        self.root = root
        self.blobs = BlobStore(root)
        self._clock = clock or SystemClock()
        for name in ("rootfs", "leases"):
            (root / name).mkdir(parents=True, exist_ok=True)

    # records

    def images(self) -> list[ImageRecord]:
        return sorted(self._load().values(), key=lambda record: record.name)

    def get(self, image: str) -> ImageRecord | None:
        """The record for ``image``: a name (normalised), ``repo@digest`` or a bare digest."""
        records = self._load()
        if image.startswith(("sha256:", "sha512:")):
            return next((r for r in records.values()
                         if image in (r.digest, r.config_digest)), None)
        ref = parse_reference(image)
        found = records.get(str(ref))
        if found is None and ref.digest is not None:
            found = next((r for r in records.values() if r.digest == ref.digest
                          and parse_reference(r.name).repository == ref.repository), None)
        return found

    def require(self, image: str) -> ImageRecord:
        record = self.get(image)
        if record is None:
            raise ImageNotFound(f"no such image: {image}")
        return record

    def add(self, name: str, *, digest: str, manifest: Manifest,
            manifest_digest: str | None = None) -> ImageRecord:
        """Record ``name`` → ``digest`` (an index's or the manifest's) whose blobs are all
        in the store; ``manifest_digest`` is the platform manifest's when ``digest`` is an
        index's."""
        manifest_digest = manifest_digest or digest
        layers = tuple(layer.digest for layer in manifest.layers)
        for blob in (digest, manifest_digest, manifest.config.digest, *layers):
            if not self.blobs.has(blob):
                raise ImageNotFound(f"blob {blob} of {name} is not in the store")
        now = self._clock.now()
        size = manifest.config.size + sum(layer.size for layer in manifest.layers)
        record = ImageRecord(name=str(parse_reference(name)), digest=digest,
                             manifest_digest=manifest_digest, media_type=manifest.media_type,
                             config_digest=manifest.config.digest, layers=manifest.layers,
                             size=size, created=now, last_used=now)
        with self._locked_records() as records:
            records[record.name] = record
        return record

    def touch(self, record: ImageRecord) -> None:
        """Mark ``record`` used now (image GC collects the least recently used)."""
        with self._locked_records() as records:
            if record.name in records:
                records[record.name] = replace(records[record.name],
                                               last_used=self._clock.now())

    def config(self, record: ImageRecord) -> ImageConfig:
        return parse_config(self.blobs.read(record.config_digest))

    def remove(self, image: str) -> ImageRecord:
        """Forget ``image`` and delete what no other image uses (``steersman image rm``)."""
        record = self.require(image)
        with self._locked_records() as records:
            records.pop(record.name, None)
        self.prune()
        return record

    def gc(self, *, keep: set[str], older_than: float) -> list[ImageRecord]:
        """Remove images not in ``keep`` (names, ``repo@digest`` or digests), unused for
        ``older_than`` seconds and used by no container; then prune. Returns the removed."""
        deadline = self._clock.now() - older_than
        removed: list[ImageRecord] = []
        with self._locked_records() as records:
            for record in list(records.values()):
                if record.last_used <= deadline and not self._kept(record, keep):
                    removed.append(records.pop(record.name))
        self.prune()
        return removed

    def in_use(self, record: ImageRecord, keep: set[str]) -> bool:
        """Whether ``record`` is named in ``keep`` or its rootfs is leased by a container."""
        return self._kept(record, keep)

    def remove_unused(self, names: list[str], *, keep: set[str]) -> list[ImageRecord]:
        """Remove the images ``names`` that are still unused (checked under the lock), then
        prune once; the image garbage collector's delete. Returns the removed."""
        removed: list[ImageRecord] = []
        with self._locked_records() as records:
            for name in names:
                record = records.get(name)
                if record is not None and not self._kept(record, keep):
                    removed.append(records.pop(name))
        if removed:
            self.prune()
        return removed

    def _kept(self, record: ImageRecord, keep: set[str]) -> bool:
        names = {record.name, record.image_id, record.digest, record.config_digest}
        return bool(names & keep) or self._in_use(record.rootfs_key)

    # rootfs

    def rootfs(self, record: ImageRecord) -> Path:
        """The image's unpacked, shared rootfs; applied from its layers on first use."""
        target = self.root / "rootfs" / record.rootfs_key
        if target.is_dir():
            return target
        with self.ingest():
            staging = Path(tempfile.mkdtemp(dir=self.blobs.tmp_dir, prefix="rootfs-"))
            try:
                os.chmod(staging, 0o755)
                for layer in record.layers:
                    apply_layer(staging, self.blobs.path(layer.digest))
                os.rename(staging, target)
            except OSError:
                if not target.is_dir():
                    raise
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        return target

    def prepare_rootfs(self, image: str | ImageRecord, container_dir: Path) -> Path:
        """A writable rootfs for one container: overlay on the image rootfs, else a copy."""
        record = image if isinstance(image, ImageRecord) else self.require(image)
        lower = self.rootfs(record)
        lease = self.root / "leases" / record.rootfs_key / _lease_key(container_dir)
        lease.parent.mkdir(parents=True, exist_ok=True)
        lease.write_text(str(container_dir))
        self.touch(record)
        return rootfs_mounts.mount_rootfs(lower, container_dir)

    def release_rootfs(self, container_dir: Path) -> None:
        """Undo :meth:`prepare_rootfs` for ``container_dir``."""
        rootfs_mounts.release_rootfs(container_dir)
        for image_dir in (self.root / "leases").iterdir():
            with contextlib.suppress(FileNotFoundError):
                (image_dir / _lease_key(container_dir)).unlink()

    # pruning

    @contextlib.contextmanager
    def ingest(self) -> Iterator[None]:
        """Held while blobs or rootfs are being written, so pruning leaves them alone."""
        with _flock(self.root / "ingest.lock", fcntl.LOCK_SH):
            yield

    def prune(self) -> None:
        """Delete blobs and rootfs directories that no image record refers to."""
        records = self._load().values()
        keys = {record.rootfs_key for record in records}
        for directory in (self.root / "rootfs").iterdir():
            if directory.name not in keys and not self._in_use(directory.name):
                shutil.rmtree(directory, ignore_errors=True)
        wanted = {blob for record in records for blob in record.blobs}
        try:
            with _flock(self.root / "ingest.lock", fcntl.LOCK_EX | fcntl.LOCK_NB):
                for blob in set(self.blobs.digests()) - wanted:
                    self.blobs.delete(blob)
        except BlockingIOError:
            return

    def _in_use(self, rootfs_key: str) -> bool:
        leases = self.root / "leases" / rootfs_key
        if not leases.is_dir():
            return False
        live = False
        for lease in leases.iterdir():
            if (Path(lease.read_text()) / "rootfs").exists():
                live = True
            else:
                lease.unlink(missing_ok=True)
        return live

    # persistence

    def _load(self) -> dict[str, ImageRecord]:
        try:
            document = json.loads((self.root / "images.json").read_bytes())
        except FileNotFoundError:
            return {}
        return {name: _record_from_json(raw) for name, raw in document["images"].items()}

    @contextlib.contextmanager
    def _locked_records(self) -> Iterator[dict[str, ImageRecord]]:
        with _flock(self.root / "images.lock", fcntl.LOCK_EX):
            records = self._load()
            yield records
            document = {"images": {name: asdict(record) for name, record in records.items()}}
            staging = self.blobs.tmp_dir / f"images.json.{os.getpid()}"
            staging.write_text(json.dumps(document, indent=1, sort_keys=True))
            os.replace(staging, self.root / "images.json")


@contextlib.contextmanager
def _flock(path: Path, operation: int) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, operation)
        yield


def _lease_key(container_dir: Path) -> str:
    return hashlib.sha256(str(container_dir.absolute()).encode()).hexdigest()[:32]


def _record_from_json(raw: dict[str, Any]) -> ImageRecord:
    layers = tuple(Descriptor(media_type=layer["media_type"], digest=layer["digest"],
                              size=layer["size"]) for layer in raw["layers"])
    return ImageRecord(name=raw["name"], digest=raw["digest"],
                       manifest_digest=raw["manifest_digest"], media_type=raw["media_type"],
                       config_digest=raw["config_digest"], layers=layers, size=raw["size"],
                       created=raw["created"], last_used=raw["last_used"])
