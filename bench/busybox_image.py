"""A busybox image for the benchmarks that run crun or runc, built here from Debian's
busybox-static and imported into image stores, so no benchmark needs a registry.

:func:`build_busybox_layout` writes an OCI image layout tarball (one gzip layer: ``/bin/busybox``,
a symlink per applet, ``/etc/passwd`` and ``/etc/group``) named ``name``;
:func:`import_image` imports it into a node's :class:`~steersman.kubelet.images.ImageStore`
and unpacks the shared rootfs, as a pull would, so the first container start does not pay
for unpacking. The same minimal logic as ``tests/integration/image_fixtures.py``, which the
benchmarks do not import.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

from steersman.kubelet.images import ImageStore, import_archive

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
CONFIG: dict[str, Any] = {"Cmd": ["sh"], "Env": ["PATH=/bin"], "WorkingDir": "/"}


def build_busybox_layout(work: Path, *, name: str, busybox: str = "/bin/busybox") -> Path:
    """An OCI layout tarball at ``work/busybox-oci.tar`` with one image called ``name``."""
    if not Path(busybox).is_file():
        raise SystemExit(f"{busybox} is missing: install Debian's busybox-static")
    layer = _layer_tar(_rootfs(busybox, work / "busybox-rootfs"))
    layer_gz = gzip.compress(layer, mtime=0)
    config = _json({"architecture": _arch(), "os": "linux", "config": CONFIG,
                    "rootfs": {"type": "layers", "diff_ids": [_digest(layer)]}})
    manifest = _json({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                      "config": _descriptor("application/vnd.oci.image.config.v1+json", config),
                      "layers": [_descriptor("application/vnd.oci.image.layer.v1.tar+gzip",
                                             layer_gz)]})
    index = _json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {**_descriptor(OCI_MANIFEST, manifest),
         "annotations": {"org.opencontainers.image.ref.name": name}}]})
    files = {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}', "index.json": index}
    for blob in (layer_gz, config, manifest):
        files[f"blobs/sha256/{hashlib.sha256(blob).hexdigest()}"] = blob
    shutil.rmtree(work / "busybox-rootfs")
    return _write_tar(work / "busybox-oci.tar", files)


def import_image(layout: Path, images_dir: Path) -> None:
    """Import ``layout`` into the store at ``images_dir`` and unpack its rootfs."""
    store = ImageStore(images_dir)
    for record in import_archive(store, layout):
        store.rootfs(record)


def _rootfs(busybox: str, root: Path) -> Path:
    (root / "bin").mkdir(parents=True)
    (root / "etc").mkdir()
    shutil.copy2(busybox, root / "bin" / "busybox")
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True)
    for applet in applets.stdout.split():
        if applet != "busybox":
            os.symlink("busybox", root / "bin" / applet)
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "etc" / "group").write_text("root:x:0:\n")
    return root


def _layer_tar(rootfs: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path in sorted(rootfs.rglob("*")):
            info = archive.gettarinfo(str(path), arcname=str(path.relative_to(rootfs)))
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mtime = 0
            if info.isfile():
                with path.open("rb") as stream:
                    archive.addfile(info, stream)
            else:
                archive.addfile(info)
    return buffer.getvalue()


def _arch() -> str:
    machine = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _descriptor(media_type: str, blob: bytes) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": _digest(blob), "size": len(blob)}


def _json(document: object) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def _write_tar(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path
