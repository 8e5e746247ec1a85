"""Build a container runtime by name: ``crun``, ``runc`` or ``process``.

The default (:func:`default_runtime_name`) is ``crun`` when the agent runs as root and
crun is installed, else ``runc`` under the same conditions, else ``process``. This is the
only module that knows every implementation.

crun and runc run images from the node's :class:`~steersman.kubelet.images.ImageStore`:
``images_dir`` when given, else ``images`` beside ``state_dir`` (for an agent:
``<data dir>/images`` next to ``<data dir>/runtime``). The process runtime ignores images.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from steersman.kubelet.images import ImageStore
from steersman.kubelet.runtime.interface import RuntimeService, Unsupported
from steersman.kubelet.runtime.oci import DEFAULT_CGROUP_PARENT, OciRuntime
from steersman.kubelet.runtime.process import ProcessRuntime

RUNTIME_NAMES = ("crun", "runc", "process")


def default_runtime_name() -> str:
    if os.geteuid() == 0:
        for binary in ("crun", "runc"):
            if shutil.which(binary):
                return binary
    return "process"


def new_runtime(
    name: str,
    *,
    state_dir: str | os.PathLike[str],
    cgroup_parent: str = DEFAULT_CGROUP_PARENT,
    images_dir: str | os.PathLike[str] | None = None,
) -> RuntimeService:
    """The runtime called ``name`` keeping its state in ``state_dir``."""
    if name == "process":
        return ProcessRuntime(state_dir)
    if name in ("crun", "runc"):
        images = Path(images_dir) if images_dir else Path(state_dir).parent / "images"
        return OciRuntime(state_dir, binary=name, cgroup_parent=cgroup_parent,
                          image_store=ImageStore(images))
    raise Unsupported(f"unknown runtime {name!r}; choose one of {', '.join(RUNTIME_NAMES)}")
