"""Image garbage collection: thresholds, least recently used first, never an image in use."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest

from steersman.client import FakeClock
from steersman.kubelet.images.gc import GCPolicy, bytes_to_free, collect_images
from steersman.kubelet.images.manifests import OCI_LAYER_GZIP, Descriptor, Manifest
from steersman.kubelet.images.rootfs import release_rootfs
from steersman.kubelet.images.store import ImageRecord, ImageStore

GIB = 1 << 30


def _add(store: ImageStore, name: str, content: bytes) -> ImageRecord:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("file")
        info.size = len(content)
        archive.addfile(info, io.BytesIO(content))
    layer = gzip.compress(buffer.getvalue())
    config = json.dumps({"config": {}, "rootfs": {"diff_ids": []}}).encode()
    manifest = Manifest(
        media_type="application/vnd.oci.image.manifest.v1+json",
        config=Descriptor("application/vnd.oci.image.config.v1+json",
                          store.blobs.put(config), len(config)),
        layers=(Descriptor(OCI_LAYER_GZIP, store.blobs.put(layer), len(layer)),))
    digest = store.blobs.put(json.dumps(name).encode())
    return store.add(name, digest=digest, manifest=manifest)


@pytest.mark.parametrize(("used_percent", "expected"), [
    (84, 0), (85, 5 * GIB), (90, 10 * GIB), (100, 20 * GIB)])
def test_bytes_to_free_from_high_down_to_low(used_percent: int, expected: int) -> None:
    capacity = 100 * GIB
    available = capacity - used_percent * GIB
    assert bytes_to_free(capacity, available, GCPolicy()) == expected


def test_policy_rejects_thresholds_out_of_order() -> None:
    with pytest.raises(ValueError, match="low <= high"):
        GCPolicy(high_threshold_percent=70, low_threshold_percent=80)


def test_least_recently_used_unused_old_images_go_first(tmp_path: Path) -> None:
    clock = FakeClock()
    store = ImageStore(tmp_path / "images", clock=clock)
    oldest = _add(store, "reg.local/a:1", b"a")
    clock.advance(10)
    in_use = _add(store, "reg.local/b:1", b"b")
    clock.advance(10)
    newer = _add(store, "reg.local/c:1", b"c")
    clock.advance(200)
    young = _add(store, "reg.local/d:1", b"d")

    def full(_path: Path) -> tuple[int, int]:  # 90 % used: free 10 % of 1000 bytes
        return 1000, 100

    removed = collect_images(store, in_use={in_use.image_id}, now=clock.now(), usage=full)
    assert [r.name for r in removed] == [oldest.name]
    assert store.get("reg.local/a:1") is None
    # Nothing else fits the rules: b is in use, d is younger than two minutes; c is next.
    removed = collect_images(store, in_use={in_use.image_id}, now=clock.now(), usage=full)
    assert [r.name for r in removed] == [newer.name]
    assert {r.name for r in store.images()} == {in_use.name, young.name}


def test_nothing_is_removed_below_the_high_threshold(tmp_path: Path) -> None:
    clock = FakeClock()
    store = ImageStore(tmp_path / "images", clock=clock)
    _add(store, "reg.local/a:1", b"a")
    clock.advance(1000)
    removed = collect_images(store, in_use=set(), now=clock.now(),
                             usage=lambda _path: (1000, 200))
    assert removed == [] and len(store.images()) == 1


def test_an_image_whose_rootfs_a_container_leases_is_kept(tmp_path: Path) -> None:
    clock = FakeClock()
    store = ImageStore(tmp_path / "images", clock=clock)
    record = _add(store, "reg.local/a:1", b"a")
    container = tmp_path / "ctr"
    store.prepare_rootfs(record, container)
    try:
        clock.advance(1000)
        removed = collect_images(store, in_use=set(), now=clock.now(),
                                 usage=lambda _path: (1000, 0))
        assert removed == [] and store.get("reg.local/a:1") is not None
    finally:
        release_rootfs(container)
    assert [r.name for r in collect_images(store, in_use=set(), now=clock.now(),
                                           usage=lambda _path: (1000, 0))] == [record.name]
