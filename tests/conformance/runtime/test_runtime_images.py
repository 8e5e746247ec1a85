"""Containers from the node's image store, on every runtime.

The OCI runtimes, given an :class:`~steersman.kubelet.images.ImageStore`, run a container
whose :class:`ImageSpec` names only the image: its rootfs is prepared over the image's
layers and the image config applies (Entrypoint, Cmd, Env, WorkingDir, User) under
Kubernetes' command/args rules; removing the container releases the rootfs. The process
runtime documents that it ignores images: it has no image store and runs ``command``
on the host whatever the image says.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from steersman.kubelet.images import ImageStore, import_archive
from steersman.kubelet.runtime.interface import (
    ContainerConfig,
    CreateError,
    ImageSpec,
    RuntimeService,
)
from steersman.kubelet.runtime.oci import OciRuntime
from steersman.kubelet.runtime.process import ProcessRuntime
from tests.conformance.runtime.test_runtime_conformance import new_pod, output, run_to_exit
from tests.integration.image_fixtures import build_image, write_oci_layout

pytestmark = pytest.mark.timeout(60)
IMAGE = "registry.test/conformance/busybox:v1"
IMAGE_CONFIG = {"Entrypoint": ["sh", "-c"], "Cmd": ["echo from-cmd; exit 7"],
                "Env": ["PATH=/bin", "GREETING=from-image"], "WorkingDir": "/etc",
                "User": "www"}


@pytest.fixture(scope="module")
def image_archive(busybox_rootfs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test image as an OCI layout tarball, built once: busybox plus a ``www`` user."""
    directory = tmp_path_factory.mktemp("image")
    root = directory / "rootfs"
    shutil.copytree(busybox_rootfs, root, symlinks=True)
    with (root / "etc" / "passwd").open("a") as passwd:
        passwd.write("www:x:33:44:web:/var/www:/bin/false\n")
    image = build_image(root, image_config=IMAGE_CONFIG)
    return write_oci_layout(image, directory / "image.tar", name="v1")


@pytest.fixture
def store(runtime_name: str, image_archive: Path, tmp_path: Path) -> ImageStore:
    if runtime_name == "process":
        pytest.skip("documented: the process runtime ignores images")
    store = ImageStore(tmp_path / "images")
    import_archive(store, image_archive, tag=IMAGE)
    return store


@pytest.fixture
async def imaged(runtime_name: str, tmp_path: Path,
                 cgroup_parent: str) -> AsyncIterator[RuntimeService]:
    if runtime_name == "process":
        service: RuntimeService = ProcessRuntime(tmp_path / "state")
    else:
        binary, _, shim = runtime_name.partition("-")
        service = OciRuntime(tmp_path / "state", binary=binary, cgroup_parent=cgroup_parent,
                             use_conmon=shim != "supervisor",
                             image_store=ImageStore(tmp_path / "images"))
    yield service
    for sandbox in await service.list_sandboxes():
        await service.remove_sandbox(sandbox.id)


def _config(**fields: object) -> ContainerConfig:
    fields.setdefault("image", ImageSpec(IMAGE))
    return ContainerConfig(name="main", **fields)  # type: ignore[arg-type]


async def test_the_image_config_applies(store: ImageStore, imaged: RuntimeService,
                                        tmp_path: Path) -> None:
    pod = await new_pod(imaged)
    defaults = await run_to_exit(imaged, pod, _config())
    assert (output(defaults), defaults.exit_code) == (["from-cmd"], 7)
    record = store.require(IMAGE)
    assert defaults.image_ref == record.image_id
    script = 'echo "$GREETING $PWD $(id -u):$(id -g) $0"'
    with_args = await run_to_exit(imaged, pod, _config(args=(script,)))
    assert output(with_args) == ["from-image /etc 33:44 sh"]
    command = await run_to_exit(imaged, pod, _config(
        command=("sh", "-c", 'echo "$# $GREETING"'), env={"GREETING": "from-pod"}))
    assert output(command) == ["0 from-pod"]  # Cmd dropped, the pod's env wins
    assert any((tmp_path / "state").rglob("upper"))
    await imaged.remove_sandbox(pod)
    assert not any((tmp_path / "state").rglob("upper"))  # each rootfs released


async def test_an_image_missing_from_the_store(runtime_name: str,
                                               imaged: RuntimeService) -> None:
    if runtime_name == "process":
        pytest.skip("documented: the process runtime ignores images")
    spec = ContainerConfig(name="main", image=ImageSpec("registry.test/absent:v1"))
    with pytest.raises(CreateError, match=r"absent:v1.* is not usable on this node"):
        await imaged.create_container(await new_pod(imaged), spec)


async def test_the_process_runtime_ignores_images(runtime_name: str,
                                                  imaged: RuntimeService) -> None:
    if runtime_name != "process":
        pytest.skip("only the process runtime ignores images")
    assert getattr(imaged, "image_store", None) is None
    status = await run_to_exit(imaged, await new_pod(imaged), _config(
        command=("sh", "-c", "echo host"), image=ImageSpec("registry.test/never-pulled:v1")))
    assert output(status) == ["host"]
