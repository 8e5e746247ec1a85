"""A busybox image built from Debian's busybox-static, imported (OCI layout and
docker-archive), pushed to Debian's docker-registry on 127.0.0.1 and pulled by the node's
image store: anonymously, with basic auth from a dockerconfigjson imagePullSecret, and
refused with wrong credentials."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from click.testing import CliRunner

from steersman.cli.main import main
from steersman.kubelet.images import (
    ImageStore,
    PullError,
    RegistryClient,
    credentials_from_secret,
    import_archive,
)
from steersman.kubelet.images.rootfs import release_rootfs
from tests.integration.image_fixtures import (
    PASSWORD,
    USER,
    BuiltImage,
    build_image,
    busybox_rootfs,
    free_port,
    push,
    run_registry,
    write_docker_archive,
    write_oci_layout,
)
from tests.tools import need_tool


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> BuiltImage:
    busybox = need_tool("busybox", "the test image is Debian's busybox-static")
    root = busybox_rootfs(busybox, tmp_path_factory.mktemp("build") / "rootfs")
    return build_image(root)


def _start_registry(tmp: Path, *, auth: bool) -> Iterator[str]:
    yield from run_registry(need_tool("docker-registry", "apt install docker-registry"), tmp,
                            auth=auth)


@pytest.fixture
def open_registry(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "registry").mkdir()
    yield from _start_registry(tmp_path / "registry", auth=False)


@pytest.fixture
def auth_registry(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "registry").mkdir()
    yield from _start_registry(tmp_path / "registry", auth=True)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[RegistryClient]:
    registry_client = RegistryClient(ImageStore(tmp_path / "images"))
    yield registry_client
    await registry_client.close()


@pytest.fixture
def ctr(tmp_path: Path) -> Iterator[Path]:
    """A container directory whose rootfs is released (unmounted) even when a test fails."""
    yield tmp_path / "ctr"
    release_rootfs(tmp_path / "ctr")


def _assert_runs(rootfs: Path) -> None:
    assert (rootfs / "bin" / "busybox").is_file()
    assert os.readlink(rootfs / "bin" / "sh") == "busybox"
    if os.geteuid() == 0 and shutil.which("chroot"):
        done = subprocess.run(["chroot", str(rootfs), "/bin/busybox", "echo", "ok"],
                              capture_output=True, text=True, timeout=10, check=True)
        assert done.stdout == "ok\n"


def _pull_secret(registry: str, user: str, password: str) -> dict[str, object]:
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    config = json.dumps({"auths": {f"http://{registry}": {"auth": auth}}}).encode()
    return {"type": "kubernetes.io/dockerconfigjson",
            "metadata": {"namespace": "default", "name": "regcred"},
            "data": {".dockerconfigjson": base64.b64encode(config).decode()}}


def test_import_oci_layout_and_docker_archive(image: BuiltImage, tmp_path: Path,
                                              ctr: Path) -> None:
    store = ImageStore(tmp_path / "images")
    oci = write_oci_layout(image, tmp_path / "oci.tar", name="example.test/tools/busybox:oci")
    docker = write_docker_archive(image, tmp_path / "docker.tar", tag="busybox:docker")
    [from_oci] = import_archive(store, oci)
    [from_docker] = import_archive(store, docker)
    assert from_oci.name == "example.test/tools/busybox:oci"
    assert from_oci.digest == image.manifest_digest
    assert from_docker.name == "docker.io/library/busybox:docker"
    assert from_docker.config_digest == from_oci.config_digest
    assert store.config(from_oci).cmd == ("sh",)
    _assert_runs(store.rootfs(from_oci))
    container = store.prepare_rootfs(from_docker, ctr)
    _assert_runs(container)
    store.remove(from_oci.name)
    assert store.rootfs(from_docker).is_dir(), "shared rootfs kept while still named"
    store.release_rootfs(ctr)
    store.remove(from_docker.name)
    assert not list((tmp_path / "images" / "blobs" / "sha256").iterdir())


def test_cli_import_ls_rm(image: BuiltImage, tmp_path: Path) -> None:
    archive = write_oci_layout(image, tmp_path / "oci.tar", name="busybox:cli")
    store_dir = str(tmp_path / "images")
    runner = CliRunner()
    imported = runner.invoke(main, ["image", "--data-dir", store_dir, "import", str(archive)])
    assert imported.exit_code == 0, imported.output
    listed = runner.invoke(main, ["image", "--data-dir", store_dir, "ls"])
    assert "docker.io/library/busybox:cli" in listed.output
    assert image.manifest_digest[7:19] in listed.output
    removed = runner.invoke(main, ["image", "--data-dir", store_dir, "rm", "busybox:cli"])
    assert removed.exit_code == 0, removed.output
    missing = runner.invoke(main, ["image", "--data-dir", store_dir, "rm", "busybox:cli"])
    assert missing.exit_code != 0 and "no such image" in missing.output


async def test_pull_anonymous_manifest_and_index(image: BuiltImage, open_registry: str,
                                                 http: aiohttp.ClientSession,
                                                 client: RegistryClient) -> None:
    base = f"http://{open_registry}"
    await push(http, base, "kpod/busybox", "v1", image)
    await push(http, base, "kpod/busybox", "multi", image, as_index=True)
    record = await client.pull(f"{open_registry}/kpod/busybox:v1")
    assert record.digest == image.manifest_digest
    _assert_runs(client.store.rootfs(record))
    multi = await client.pull(f"{open_registry}/kpod/busybox:multi")
    assert multi.manifest_digest == image.manifest_digest
    assert multi.digest != multi.manifest_digest, "the index digest names the image"
    pinned = await client.pull(f"{open_registry}/kpod/busybox@{image.manifest_digest}")
    assert pinned.image_id == f"{open_registry}/kpod/busybox@{image.manifest_digest}"
    with pytest.raises(PullError, match=r'failed to pull image ".*:nope": manifest unknown'):
        await client.pull(f"{open_registry}/kpod/busybox:nope")


async def test_pull_with_image_pull_secret(image: BuiltImage, auth_registry: str,
                                           http: aiohttp.ClientSession,
                                           client: RegistryClient) -> None:
    basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    await push(http, f"http://{auth_registry}", "private/busybox", "v1", image,
               headers={"Authorization": f"Basic {basic}"})
    ref = f"{auth_registry}/private/busybox:v1"
    with pytest.raises(PullError, match="unauthorized: authentication required") as anonymous:
        await client.pull(ref)
    assert anonymous.value.unauthorized
    wrong = credentials_from_secret(_pull_secret(auth_registry, USER, "wrong"))
    with pytest.raises(PullError, match="unauthorized"):
        await client.pull(ref, credentials=wrong)
    right = credentials_from_secret(_pull_secret(auth_registry, USER, PASSWORD))
    record = await asyncio.wait_for(client.pull(ref, credentials=right), 30)
    assert record.name == ref
    _assert_runs(client.store.rootfs(record))


async def test_unreachable_registry_fails_fast(client: RegistryClient) -> None:
    port = free_port()
    with pytest.raises(PullError, match=f"cannot reach registry 127.0.0.1:{port}"):
        await asyncio.wait_for(client.pull(f"127.0.0.1:{port}/x/y:v1"), 10)
