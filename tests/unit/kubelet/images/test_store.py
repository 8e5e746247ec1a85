from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from steersman.client import FakeClock
from steersman.kubelet.images.blobs import sha256_digest
from steersman.kubelet.images.errors import DigestMismatch, ImageNotFound
from steersman.kubelet.images.manifests import OCI_LAYER_GZIP, Descriptor, Manifest
from steersman.kubelet.images.rootfs import release_rootfs
from steersman.kubelet.images.store import ImageStore


def _image(store: ImageStore, content: bytes) -> tuple[str, Manifest]:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("hello")
        info.size = len(content)
        archive.addfile(info, io.BytesIO(content))
    layer = gzip.compress(buffer.getvalue())
    config = json.dumps({"config": {"Cmd": ["hello"]}, "rootfs": {"diff_ids": []}}).encode()
    manifest = Manifest(
        media_type="application/vnd.oci.image.manifest.v1+json",
        config=Descriptor("application/vnd.oci.image.config.v1+json",
                          store.blobs.put(config), len(config)),
        layers=(Descriptor(OCI_LAYER_GZIP, store.blobs.put(layer), len(layer)),))
    digest = store.blobs.put(json.dumps(content.decode()).encode())
    return digest, manifest


@pytest.fixture
def ctr(tmp_path: Path) -> Iterator[Path]:
    """A container directory whose rootfs is released (unmounted) even when a test fails."""
    yield tmp_path / "ctr"
    release_rootfs(tmp_path / "ctr")


def test_blob_digest_and_size_verified(tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    with pytest.raises(DigestMismatch, match="digest mismatch"):
        store.blobs.put(b"data", digest=sha256_digest(b"other"))
    with pytest.raises(DigestMismatch, match="announced"), \
            store.blobs.writer(digest=sha256_digest(b"ab"), size=1) as writer:
        writer.write(b"ab")
    with pytest.raises(DigestMismatch, match="unsupported"):
        store.blobs.put(b"x", digest="md5:abc")
    assert list(store.blobs.digests()) == []
    assert list((tmp_path / "tmp").iterdir()) == []


def test_records_lookup_and_remove(tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    digest, manifest = _image(store, b"one")
    record = store.add("busybox", digest=digest, manifest=manifest)
    assert record.name == "docker.io/library/busybox:latest"
    assert store.get("docker.io/library/busybox") == record
    assert store.get(digest) == record
    assert store.get(f"busybox@{digest}") == record
    assert store.config(record).cmd == ("hello",)
    assert (store.rootfs(record) / "hello").read_bytes() == b"one"
    store.remove("busybox")
    assert store.images() == []
    assert list(store.blobs.digests()) == []
    assert list((tmp_path / "rootfs").iterdir()) == []
    with pytest.raises(ImageNotFound):
        store.remove("busybox")


def test_gc_keeps_recent_kept_and_in_use(tmp_path: Path, ctr: Path) -> None:
    clock = FakeClock(start=1000.0)
    store = ImageStore(tmp_path, clock=clock)
    old = store.add("old:v1", digest=_image(store, b"old")[0], manifest=_image(store, b"old")[1])
    kept_digest, kept = _image(store, b"kept")
    store.add("kept:v1", digest=kept_digest, manifest=kept)
    used_digest, used_manifest = _image(store, b"used")
    used = store.add("used:v1", digest=used_digest, manifest=used_manifest)
    store.prepare_rootfs(used, ctr)
    clock.advance(600)
    store.add("new:v1", digest=_image(store, b"new")[0], manifest=_image(store, b"new")[1])
    removed = store.gc(keep={"docker.io/library/kept:v1"}, older_than=300)
    assert [record.name for record in removed] == [old.name]
    names = {record.name for record in store.images()}
    assert names == {"docker.io/library/kept:v1", "docker.io/library/used:v1",
                     "docker.io/library/new:v1"}
    store.release_rootfs(ctr)
    clock.advance(600)
    assert {r.name for r in store.gc(keep=set(), older_than=300)} == names
    assert list(store.blobs.digests()) == []


def test_prepare_rootfs_gives_a_private_writable_copy(tmp_path: Path, ctr: Path) -> None:
    store = ImageStore(tmp_path / "images")
    digest, manifest = _image(store, b"shared")
    record = store.add("app:v1", digest=digest, manifest=manifest)
    rootfs = store.prepare_rootfs(record, ctr)
    (rootfs / "hello").write_bytes(b"changed")
    assert (store.rootfs(record) / "hello").read_bytes() == b"shared"
    store.release_rootfs(ctr)
    assert not (ctr / "rootfs").exists()
