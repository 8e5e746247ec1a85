"""Builds a busybox image from Debian's busybox-static, as OCI layout and docker-archive,
runs Debian's docker-registry on 127.0.0.1 (optionally with htpasswd basic auth) and
pushes images to it with plain v2 calls (monolithic upload, manifest PUT)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
# htpasswd line for puller / s3cret-pass (bcrypt, cost 4), made once with Python's crypt.
HTPASSWD = "puller:$2b$04$38aQjSrUTo4BVnF4qMfzQOj2.qb8VESpG0YJ4jFJAlJasWS.oPN4S\n"
USER, PASSWORD = "puller", "s3cret-pass"
DEFAULT_CONFIG: dict[str, Any] = {"Cmd": ["sh"], "Env": ["PATH=/bin"], "WorkingDir": "/"}


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class BuiltImage:
    layer_gz: bytes
    layer_tar: bytes
    config: bytes
    manifest: bytes
    index: bytes
    other_config: bytes
    other_manifest: bytes

    @property
    def manifest_digest(self) -> str:
        return sha256(self.manifest)


def busybox_rootfs(busybox: str, root: Path) -> Path:
    """bin/busybox, one symlink per applet, etc/passwd and etc/group."""
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


def build_image(rootfs: Path, *, arch: str = "amd64",
                image_config: dict[str, Any] | None = None) -> BuiltImage:
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
    layer_tar = buffer.getvalue()
    layer_gz = gzip.compress(layer_tar, mtime=0)
    config = _json({"architecture": arch, "os": "linux",
                    "config": image_config or DEFAULT_CONFIG,
                    "rootfs": {"type": "layers", "diff_ids": [sha256(layer_tar)]}})
    manifest = _json({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                      "config": _descriptor("application/vnd.oci.image.config.v1+json", config),
                      "layers": [_descriptor("application/vnd.oci.image.layer.v1.tar+gzip",
                                             layer_gz)]})
    other_config = _json({"architecture": "s390x", "os": "linux", "config": {},
                          "rootfs": {"type": "layers", "diff_ids": []}})
    other = _json({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": _descriptor(
        "application/vnd.oci.image.config.v1+json", other_config), "layers": []})
    index = _json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {**_descriptor(OCI_MANIFEST, other), "platform": {"os": "linux",
                                                           "architecture": "s390x"}},
        {**_descriptor(OCI_MANIFEST, manifest), "platform": {"os": "linux",
                                                              "architecture": arch}}]})
    return BuiltImage(layer_gz, layer_tar, config, manifest, index, other_config, other)


def write_oci_layout(image: BuiltImage, path: Path, *, name: str) -> Path:
    index = _json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {**_descriptor(OCI_MANIFEST, image.manifest),
         "annotations": {"org.opencontainers.image.ref.name": name}}]})
    files = {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}', "index.json": index}
    for blob in (image.layer_gz, image.config, image.manifest):
        files[f"blobs/sha256/{hashlib.sha256(blob).hexdigest()}"] = blob
    return _write_tar(path, files)


def write_docker_archive(image: BuiltImage, path: Path, *, tag: str) -> Path:
    config_name = f"{hashlib.sha256(image.config).hexdigest()}.json"
    layer_name = f"{hashlib.sha256(image.layer_tar).hexdigest()}/layer.tar"
    manifest = _json([{"Config": config_name, "RepoTags": [tag], "Layers": [layer_name]}])
    return _write_tar(path, {"manifest.json": manifest, config_name: image.config,
                             layer_name: image.layer_tar})


def run_registry(binary: str, directory: Path, *, auth: bool) -> Iterator[str]:
    """docker-registry on an ephemeral 127.0.0.1 port (htpasswd ``USER``/``PASSWORD`` when
    ``auth``); yields ``127.0.0.1:PORT`` and stops it by PID."""
    port = free_port()
    (directory / "htpasswd").write_text(HTPASSWD)
    config: dict[str, Any] = {
        "version": 0.1, "log": {"level": "error"},
        "storage": {"filesystem": {"rootdirectory": str(directory / "storage")}},
        "http": {"addr": f"127.0.0.1:{port}"}}
    if auth:
        config["auth"] = {"htpasswd": {"realm": "steersman-test",
                                       "path": str(directory / "htpasswd")}}
    (directory / "config.yml").write_text(json.dumps(config))
    with (directory / "registry.log").open("wb") as log:
        process = subprocess.Popen([binary, "serve", str(directory / "config.yml")],
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_listening(port, process)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        assert process.poll() is None, "docker-registry exited at start"
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError("docker-registry did not listen within 15 s")


async def push(session: aiohttp.ClientSession, base: str, repository: str, tag: str,
               image: BuiltImage, *, headers: dict[str, str] | None = None,
               as_index: bool = False) -> None:
    """Monolithic blob uploads (POST + PUT ?digest=), then the manifest PUT."""
    headers = headers or {}
    for blob in (image.layer_gz, image.config, image.other_config):
        async with session.post(f"{base}/v2/{repository}/blobs/uploads/",
                                headers=headers) as reply:
            assert reply.status == 202, await reply.text()
            location = reply.headers["Location"]
        separator = "&" if "?" in location else "?"
        url = location if location.startswith("http") else base + location
        async with session.put(f"{url}{separator}digest={sha256(blob)}", data=blob,
                               headers={**headers,
                                        "Content-Type": "application/octet-stream"}) as reply:
            assert reply.status == 201, await reply.text()
    for manifest in (image.manifest, image.other_manifest):
        await _put_manifest(session, f"{base}/v2/{repository}/manifests/{sha256(manifest)}",
                            manifest, OCI_MANIFEST, headers)
    body, media_type = (image.index, OCI_INDEX) if as_index else (image.manifest, OCI_MANIFEST)
    await _put_manifest(session, f"{base}/v2/{repository}/manifests/{tag}", body, media_type,
                        headers)


async def _put_manifest(session: aiohttp.ClientSession, url: str, body: bytes,
                        media_type: str, headers: dict[str, str]) -> None:
    async with session.put(url, data=body,
                           headers={**headers, "Content-Type": media_type}) as reply:
        assert reply.status == 201, await reply.text()


def _descriptor(media_type: str, blob: bytes) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": sha256(blob), "size": len(blob)}


def _json(document: object) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def _write_tar(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path
