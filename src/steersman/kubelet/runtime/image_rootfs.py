"""A container's image, resolved against the node's image store for an OCI bundle.

What containerd's CRI plugin does before it writes a container's spec:

* :func:`resolve_image` finds the pulled image (by ``image_ref``, else by name) in the
  :class:`~steersman.kubelet.images.ImageStore`, prepares the container's own writable
  rootfs over the image's shared layers (``<container_dir>/rootfs``, overlayfs or a copy)
  and fills in the image config: ``Entrypoint``, ``Cmd``, ``Env``, ``WorkingDir``,
  ``User``. Kubernetes' rules then apply in :meth:`~.interface.ContainerConfig.argv`
  (``command`` replaces the entrypoint and drops ``Cmd``; ``args`` replace ``Cmd``) and
  :meth:`~.interface.ContainerConfig.effective_env` (the container's env wins).
* :func:`image_user` turns the image's ``User`` (``uid``, ``uid:gid``, ``name``,
  ``name:group``) into numbers through the rootfs' ``/etc/passwd`` and ``/etc/group``.
* :func:`release_image` undoes the rootfs of one container.

An image that is not in the store, or a user the rootfs does not know, is a
:class:`~.interface.CreateError` whose message says so. Neighbour: :mod:`.oci`, the only
caller; an :class:`ImageSpec` that already names a ``rootfs`` is used as it is.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from steersman.kubelet.runtime.interface import CreateError, ImageSpec, User

if TYPE_CHECKING:  # the supervisor imports the runtime package and must start fast
    from steersman.kubelet.images import ImageStore


def resolve_image(store: ImageStore, image: ImageSpec, container_dir: Path) -> ImageSpec:
    """``image`` with its rootfs prepared under ``container_dir`` and its config applied."""
    from steersman.kubelet.images import ImageError

    wanted = image.image_ref or image.image
    try:
        record = store.require(wanted)
        config = store.config(record)
        rootfs = store.prepare_rootfs(record, container_dir)
    except (ImageError, OSError) as err:
        raise CreateError(f"image {image.image!r} is not usable on this node: {err}") from err
    env = dict(entry.partition("=")[::2] for entry in config.env)
    return replace(image, image_ref=image.image_ref or record.image_id, rootfs=str(rootfs),
                   entrypoint=config.entrypoint, cmd=config.cmd, env=env,
                   working_dir=config.working_dir, user=config.user)


def release_image(store: ImageStore, container_dir: Path) -> None:
    store.release_rootfs(container_dir)


def image_user(spec: str, rootfs: Path) -> User | None:
    """The numeric user of the image's ``User`` field (``None`` when it is empty)."""
    if not spec:
        return None
    name, _, group = spec.partition(":")
    passwd = _entries(rootfs / "etc" / "passwd")
    if name.isdigit():
        uid = int(name)
        default_gid = next((int(e[3]) for e in passwd if e[2] == name and e[3].isdigit()), 0)
    else:
        entry = next((e for e in passwd if e[0] == name), None)
        if entry is None or not (entry[2].isdigit() and entry[3].isdigit()):
            raise CreateError(f"unable to find user {name}: no matching entries in passwd file")
        uid, default_gid = int(entry[2]), int(entry[3])
    return User(uid=uid, gid=_group(group, rootfs) if group else default_gid)


def _group(group: str, rootfs: Path) -> int:
    if group.isdigit():
        return int(group)
    entry = next((e for e in _entries(rootfs / "etc" / "group") if e[0] == group), None)
    if entry is None or not entry[2].isdigit():
        raise CreateError(f"unable to find group {group}: no matching entries in group file")
    return int(entry[2])


def _entries(path: Path) -> list[list[str]]:
    """The colon-separated entries of a passwd or group file (padded to 4 fields)."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return []
    return [[*line.split(":"), "", "", ""][:4] for line in lines
            if line and not line.startswith("#")]
